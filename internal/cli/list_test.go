package cli

import (
	"strings"
	"testing"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func TestList(t *testing.T) {
	ns, c := clusterTest(t, true)
	create(t, c, newRollout(ns, "kv"))
	db := newRollout(ns, "db")
	db.Spec.Template.Spec.Containers[0].Image = "registry.example/db:3"
	create(t, c, db)
	waitFor(t, c, ns, "kv", "Completed", settled(v1alpha1.PhaseCompleted))
	waitFor(t, c, ns, "db", "Completed", settled(v1alpha1.PhaseCompleted))

	wantRows(t, mustSroll(t, ns, "list"), "",
		"NAME PHASE STEP UPDATED/READY/DESIRED IMAGES",
		"db Completed 3/3 4/4/4 registry.example/db:3",
		"kv Completed 3/3 4/4/4 registry.example/kv:1.0")
	// Other tests' rollouts are listed too; only this namespace's are checked.
	wantRows(t, mustSroll(t, ns, "list", "-A"), ns,
		"NAMESPACE NAME PHASE STEP UPDATED/READY/DESIRED IMAGES",
		ns+" db Completed 3/3 4/4/4 registry.example/db:3",
		ns+" kv Completed 3/3 4/4/4 registry.example/kv:1.0")

	empty := sroll(t, "default", "list")
	if empty.code != 0 || empty.out != "" || empty.err != "No resources found in default namespace.\n" {
		t.Errorf("list of an empty namespace: %+v", empty)
	}
}

// wantRows compares a table with its columns' spacing normalised: the
// header and the rows whose first column is only (all rows when only is
// empty). An AGE column is left out: it changes as the test runs.
func wantRows(t *testing.T, table, only string, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	header := strings.Fields(lines[0])
	withAge := header[len(header)-1] == "AGE"
	var got []string
	for i, line := range lines {
		fields := strings.Fields(line)
		if i > 0 && only != "" && fields[0] != only {
			continue
		}
		if withAge {
			fields = fields[:len(fields)-1]
		}
		got = append(got, strings.Join(fields, " "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("table:\n%s\nwant rows:\n%s", table, strings.Join(want, "\n"))
	}
}
