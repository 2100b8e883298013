package history

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sroll-dev/sroll/internal/plan"
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
	if got, want := ForPlan(revisions), []plan.Revision{{Name: "kv-old", Number: 1}, {Name: "kv-empty", Number: 2}, {Name: "kv-other", Number: 3}}; !slices.Equal(got, want) {
		t.Errorf("ForPlan = %v, want %v", got, want)
	}
}
