package plan

import (
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestInFlight(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	controller := true
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "kv", Namespace: "default", UID: "sts-uid"}}
	pod := func(ordinal, revision string, ready, terminating bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: "kv-" + ordinal, UID: types.UID("uid-" + ordinal),
			Labels:          map[string]string{appsv1.ControllerRevisionHashLabelKey: revision},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "kv", UID: "sts-uid", Controller: &controller}},
		}}
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.NewTime(now.Add(-time.Minute))}}
		if terminating {
			p.DeletionTimestamp = &metav1.Time{Time: now}
		}
		return p
	}
	observed := []*corev1.Pod{
		pod("11", "kv-new", false, false), // updated, not Ready yet
		pod("10", "kv-new", true, false),  // done
		pod("2", "kv-old", true, true),    // terminating
		pod("9", "kv-old", true, false),   // deleted by this plan
		pod("1", "kv-old", false, false),  // broken, not part of the rollout
		pod("0", "kv-old", true, false),
		pod("3", "kv-old", true, false), pod("4", "kv-old", true, false), pod("5", "kv-old", true, false),
		pod("6", "kv-old", true, false), pod("7", "kv-old", true, false),
		// kv-8 is gone: deleted and not recreated yet.
	}
	deleting := []PodRef{{Name: "kv-9"}}
	got := observePods(sts, FactsOfEach(observed), 12, now, 0, nil, nil).inFlight(0, "kv-new", deleting)
	if want := []string{"kv-2", "kv-8", "kv-9", "kv-11"}; !slices.Equal(got, want) {
		t.Errorf("inFlight = %v, want %v (by ordinal)", got, want)
	}
	// Ready for a minute is not yet available under minReadySeconds=120:
	// kv-10 is still on its way.
	got = observePods(sts, FactsOfEach(observed), 12, now, 2*time.Minute, nil, nil).inFlight(0, "kv-new", deleting)
	if want := []string{"kv-2", "kv-8", "kv-9", "kv-10", "kv-11"}; !slices.Equal(got, want) {
		t.Errorf("inFlight with minReadySeconds = %v, want %v", got, want)
	}
	// From an ordinal up, as a step counts its own pods.
	got = observePods(sts, FactsOfEach(observed), 12, now, 0, nil, nil).inFlight(9, "kv-new", deleting)
	if want := []string{"kv-9", "kv-11"}; !slices.Equal(got, want) {
		t.Errorf("inFlight from 9 = %v, want %v", got, want)
	}
}
