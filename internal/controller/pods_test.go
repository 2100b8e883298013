package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func TestPodsLabelled(t *testing.T) {
	labelled := map[string]string{"app": "kv", v1alpha1.LabelRollout: "kv"}
	plain := map[string]string{"app": "kv"}
	sts := func(template map[string]string, current, update string) *appsv1.StatefulSet {
		return &appsv1.StatefulSet{
			Spec:   appsv1.StatefulSetSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: template}}},
			Status: appsv1.StatefulSetStatus{CurrentRevision: current, UpdateRevision: update},
		}
	}
	otherRollout := map[string]string{"app": "kv", v1alpha1.LabelRollout: "kv-before"}
	revisions := []appsv1.ControllerRevision{
		{ObjectMeta: metav1.ObjectMeta{Name: "kv-old", Labels: plain}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kv-other", Labels: otherRollout}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kv-1", Labels: labelled}},
		{ObjectMeta: metav1.ObjectMeta{Name: "kv-2", Labels: labelled}},
	}
	for _, tc := range []struct {
		name string
		sts  *appsv1.StatefulSet
		want bool
	}{
		{"not adopted yet", sts(plain, "kv-old", "kv-old"), false},
		{"adoption rolling out", sts(labelled, "kv-old", "kv-1"), false},
		{"rollback to before the adoption", sts(plain, "kv-1", "kv-old"), false},
		{"new StatefulSet, no revision yet", sts(labelled, "", ""), true},
		{"rolling out after the adoption", sts(labelled, "kv-1", "kv-2"), true},
		{"revision not in the cache yet", sts(labelled, "kv-2", "kv-3"), false},
		// The cache's index finds pods by the label's value.
		{"pods labelled for another rollout", sts(labelled, "kv-other", "kv-1"), false},
	} {
		rollout, got := podsLabelled(tc.sts, revisions)
		if got != tc.want || (got && rollout != "kv") {
			t.Errorf("%s: podsLabelled = %q, %v, want %v", tc.name, rollout, got, tc.want)
		}
	}
}
