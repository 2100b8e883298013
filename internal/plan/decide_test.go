package plan

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestTemplateObservedComparesTheUpdateRevisionsTemplate(t *testing.T) {
	template := func(image string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "kv"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "kv", Image: image}}},
		}
	}
	revision := func(name string, tmpl corev1.PodTemplateSpec) appsv1.ControllerRevision {
		data, err := json.Marshal(map[string]any{"spec": map[string]any{"template": tmpl}})
		if err != nil {
			t.Fatal(err)
		}
		return appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: runtime.RawExtension{Raw: data}}
	}
	history := []appsv1.ControllerRevision{revision("kv-1", template("kv:v1")), revision("kv-2", template("kv:v2"))}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "kv", Generation: 5}}
	sts.Spec.Template = template("kv:v2")
	for _, tc := range []struct {
		name     string
		observed int64
		update   string
		want     bool
	}{
		{"latest generation observed", 5, "kv-1", true},
		{"a partition change unobserved", 4, "kv-2", true},
		{"a new template unobserved", 4, "kv-1", false},
		{"an update revision missing from the history", 4, "kv-3", false},
		{"no update revision yet", 5, "", false},
	} {
		sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: tc.observed, UpdateRevision: tc.update}
		if got := templateObserved(sts, history); got != tc.want {
			t.Errorf("%s: templateObserved = %v, want %v", tc.name, got, tc.want)
		}
	}
}
