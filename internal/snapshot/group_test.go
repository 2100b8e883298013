package snapshot

import (
	"maps"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func rolloutSelecting(labels map[string]string) *v1alpha1.StatefulSetRollout {
	return &v1alpha1.StatefulSetRollout{Spec: v1alpha1.StatefulSetRolloutSpec{StatefulSetSpec: appsv1.StatefulSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
	}}}
}

// The group selects claims by what the StatefulSet controller puts on
// every claim: the selector's matchLabels over the template's labels, so
// only labels all templates share (with the same value) narrow it.
func TestGroupSelector(t *testing.T) {
	template := func(name string, labels map[string]string) corev1.PersistentVolumeClaim {
		return corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	for _, tc := range []struct {
		name      string
		templates []corev1.PersistentVolumeClaim
		want      map[string]string
	}{
		{"selector only", []corev1.PersistentVolumeClaim{template("data", nil)}, map[string]string{"app": "kv"}},
		{"template labels too", []corev1.PersistentVolumeClaim{template("data", map[string]string{"tier": "db"})}, map[string]string{"app": "kv", "tier": "db"}},
		{"the selector wins", []corev1.PersistentVolumeClaim{template("data", map[string]string{"app": "other"})}, map[string]string{"app": "kv"}},
		{"only shared labels", []corev1.PersistentVolumeClaim{
			template("data", map[string]string{"tier": "db", "kind": "data"}),
			template("wal", map[string]string{"tier": "db", "kind": "wal"}),
		}, map[string]string{"app": "kv", "tier": "db"}},
	} {
		r := rolloutSelecting(map[string]string{"app": "kv"})
		r.Spec.VolumeClaimTemplates = tc.templates
		if got := GroupSelector(r); !maps.Equal(got, tc.want) {
			t.Errorf("%s: selector %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := GroupSelector(rolloutSelecting(nil)); got != nil {
		t.Errorf("a selector of expressions only: %v, want none", got)
	}
	r := rolloutSelecting(nil)
	r.Spec.Selector = nil
	if got := GroupSelector(r); got != nil {
		t.Errorf("no selector: %v, want none", got)
	}
}

func TestGroupClass(t *testing.T) {
	classes := []GroupClass{{Name: "a", Driver: "one", Default: true}, {Name: "b", Driver: "two"}, {Name: "c", Driver: "two", Default: true}, {Name: "d", Driver: "two", Default: true}}
	for _, tc := range []struct {
		named, driver, want, why string
	}{
		{"", "one", "a", ""},
		{"b", "two", "b", ""},
		{"a", "two", "", "VolumeGroupSnapshotClass a is of driver one, the claims are of two"},
		{"x", "one", "", "no VolumeGroupSnapshotClass x"},
		{"", "three", "", "no default VolumeGroupSnapshotClass for driver three"},
		{"", "two", "", "2 default VolumeGroupSnapshotClasses for driver two (c, d): name one in volumeGroupSnapshotClassName"},
	} {
		if got, why := groupClass(classes, tc.named, tc.driver); got != tc.want || why != tc.why {
			t.Errorf("named %q, driver %s: %q (%s), want %q (%s)", tc.named, tc.driver, got, why, tc.want, tc.why)
		}
	}
}
