package history

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// stored is a revision as the StatefulSet controller writes it: a strategic
// merge patch that replaces the whole template.
func stored(name string, number int64, data string) appsv1.ControllerRevision {
	rev := appsv1.ControllerRevision{Data: runtime.RawExtension{Raw: []byte(data)}, Revision: number}
	rev.Name = name
	return rev
}

func TestTemplateAndImages(t *testing.T) {
	revisions := []appsv1.ControllerRevision{
		stored("kv-old", 1, `{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"kv"}},`+
			`"spec":{"containers":[{"name":"kv","image":"kv:v1"},{"name":"sidecar","image":"proxy:3"}]}}}}`),
		stored("kv-empty", 2, ``),
		stored("kv-other", 3, `{"spec":{"replicas":3}}`),
	}
	template, err := Template(Find(revisions, "kv-old"))
	if err != nil || template.Labels["app"] != "kv" {
		t.Fatalf("Template(kv-old) = %v, %v", template, err)
	}
	if got := Images(revisions, "kv-old"); !slices.Equal(got, []string{"kv:v1", "proxy:3"}) {
		t.Errorf("Images(kv-old) = %v", got)
	}
	for _, name := range []string{"kv-unknown", "kv-empty", "kv-other", ""} {
		if got := Images(revisions, name); got != nil {
			t.Errorf("Images(%q) = %v, want none", name, got)
		}
	}
	if _, err := Template(Find(revisions, "kv-empty")); err == nil || err.Error() != "revision kv-empty holds no data" {
		t.Errorf("Template(kv-empty) error = %v", err)
	}
	if _, err := Template(Find(revisions, "kv-other")); err == nil || err.Error() != "revision kv-other holds no pod template" {
		t.Errorf("Template(kv-other) error = %v", err)
	}
}

func TestUndoTarget(t *testing.T) {
	revs := []appsv1.ControllerRevision{stored("kv-a", 1, ""), stored("kv-c", 3, ""), stored("kv-b", 2, "")}
	for _, tc := range []struct{ update, value, want, err string }{
		{"kv-c", "previous", "kv-b", ""},
		{"kv-c", "", "kv-b", ""},
		{"kv-b", "previous", "kv-c", ""},
		{"kv-c", "1", "kv-a", ""},
		{"kv-c", "7", "", "revision 7 is not in the history (kubectl sroll history lists it)"},
		{"kv-c", "latest", "", `undo wants "previous" or a revision number, got "latest"`},
	} {
		got, err := UndoTarget(revs, tc.update, tc.value)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("UndoTarget(%s, %q) = %q, %v; want %q, %q", tc.update, tc.value, got, err, tc.want, tc.err)
		}
	}
}
