package failovere2e

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// The hooks: shell scripts in each pod's directory (the local cluster's
// exec runs there, and the directory outlives the pod like a volume). The
// application is the file role: "primary", or "secondary <primary>";
// hooks.log has "<nanoseconds> <hook> <args>" per hook run. The copy's
// sequence is the file seq.
const (
	seqHook        = `cat seq 2>/dev/null || echo 0`
	seedHook       = `echo "$(date +%s%N) seed" >> hooks.log; echo primary > role`
	primaryHook    = `echo "$(date +%s%N) primary $*" >> hooks.log; echo primary > role`
	secondaryHook  = `echo "$(date +%s%N) secondary $*" >> hooks.log; echo "secondary $*" > role`
	switchoverHook = `echo "$(date +%s%N) switchover $*" >> hooks.log; echo primary > role`
	stopHook       = `echo "$(date +%s%N) stop" >> hooks.log; rm -f role`
	// statusHook passes while the application runs in the role it is given.
	statusHook = `read role rest < role && test "$role" = "$1"`
)

// replicatedRollout is a 3-member set whose hooks are the scripts above,
// checked every second.
func replicatedRollout(ns string) *v1alpha1.StatefulSetRollout {
	r := e2eutil.NewRollout(ns, "kv", 3, intstr.FromInt32(1))
	spec := e2eutil.ShellReplication(seqHook, seedHook, secondaryHook, stopHook, statusHook)
	primary, switchover := shellHook(primaryHook), shellHook(switchoverHook)
	spec.Hooks.Primary, spec.Hooks.Switchover = &primary, &switchover
	second := int32(1)
	spec.Hooks.Status.PeriodSeconds = &second
	r.Spec.Replication = spec
	return r
}

func shellHook(script string) v1alpha1.Hook {
	return v1alpha1.Hook{Command: []string{"sh", "-c", script, "hook"}}
}

// healthyWith reports whether every member runs, primary as the primary.
func healthyWith(st *v1alpha1.ReplicationStatus, primary string) bool {
	return e2eutil.Healthy(st) && st.Promotion == nil && e2eutil.Primary(st) == primary
}

// hookLines are a pod's hooks.log entries starting with entry, after since,
// read from its directory (also while the pod is gone or its node cut off).
func hookLines(t *testing.T, ns, pod, entry string, since time.Time) []string {
	t.Helper()
	data, err := readHooksLog(ns, pod)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(data, "\n") {
		at, rest, ok := strings.Cut(line, " ")
		n, err := strconv.ParseInt(at, 10, 64)
		if ok && err == nil && n >= since.UnixNano() && strings.HasPrefix(rest, entry) {
			out = append(out, fmt.Sprintf("%s %s", time.Unix(0, n).UTC().Format("15:04:05.000"), rest))
		}
	}
	return out
}

func describe(st *v1alpha1.ReplicationStatus) string {
	var parts []string
	for _, m := range st.Members {
		parts = append(parts, fmt.Sprintf("%s %s %s %s", m.Name, m.Role, m.State, m.LastError))
	}
	return fmt.Sprintf("%s: %s [%s]", st.Phase, st.Message, strings.Join(parts, "; "))
}

// readHooksLog reads a pod's hooks.log from the directory its execs run in.
func readHooksLog(ns, pod string) (string, error) {
	data, err := os.ReadFile(filepath.Join(clustertest.Cluster().VolumeDir(ns, pod), "hooks.log"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return string(data), err
}
