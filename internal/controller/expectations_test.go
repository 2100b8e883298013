package controller

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/internal/plan"
)

func pod(name string, uid types.UID, terminating bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: uid}}
	if terminating {
		p.DeletionTimestamp = &metav1.Time{Time: time.Unix(100, 0)}
	}
	return p
}

// observe is d.observe of pods, with their facts, which it checks agree.
func observe(t *testing.T, d *deletions, rollout types.NamespacedName, pods []*corev1.Pod) []*corev1.Pod {
	t.Helper()
	facts := plan.FactsOfEach(pods)
	d.observe(rollout, pods, facts)
	for i := range pods {
		if facts[i] != plan.FactsOf(pods[i]) {
			t.Errorf("the facts of %s do not say what the pod does", pods[i].Name)
		}
	}
	return pods
}

func TestDeletionsMarkStalePodsTerminating(t *testing.T) {
	rollout := types.NamespacedName{Namespace: "default", Name: "kv"}
	other := types.NamespacedName{Namespace: "default", Name: "other"}
	deletedAt := time.Unix(200, 0)
	var d deletions
	d.expect(rollout, "uid-2", deletedAt)

	// The cache has not seen the deletion yet: kv-2 still looks alive.
	cached := pod("kv-2", "uid-2", false)
	pods := observe(t, &d, rollout, []*corev1.Pod{pod("kv-1", "uid-1", false), cached})
	if cached.DeletionTimestamp != nil {
		t.Error("the cache's own pod was marked: observe must mark a copy")
	}
	if pods[0].DeletionTimestamp != nil {
		t.Error("a pod that was not deleted is marked terminating")
	}
	if pods[1].DeletionTimestamp == nil || !pods[1].DeletionTimestamp.Time.Equal(deletedAt) {
		t.Errorf("the deleted pod is not marked terminating since its deletion: %v", pods[1].DeletionTimestamp)
	}
	if got := observe(t, &d, other, []*corev1.Pod{pod("other-2", "uid-2", false)}); got[0].DeletionTimestamp != nil {
		t.Error("an expectation of one rollout applied to another")
	}

	// Once the cache shows the pod terminating, the cache is trusted again.
	observe(t, &d, rollout, []*corev1.Pod{pod("kv-2", "uid-2", true)})
	if got := observe(t, &d, rollout, []*corev1.Pod{pod("kv-2", "uid-2", false)}); got[0].DeletionTimestamp != nil {
		t.Error("an expectation outlived the cache showing the pod terminating")
	}
}

func TestDeletionsForgetGonePods(t *testing.T) {
	rollout := types.NamespacedName{Namespace: "default", Name: "kv"}
	var d deletions
	d.expect(rollout, "uid-2", time.Unix(200, 0))

	// Gone from the cache, then recreated under the same name with a new UID.
	observe(t, &d, rollout, []*corev1.Pod{pod("kv-1", "uid-1", false)})
	if got := observe(t, &d, rollout, []*corev1.Pod{pod("kv-2", "uid-2b", false)}); got[0].DeletionTimestamp != nil {
		t.Error("the recreated pod is taken for the deleted one")
	}
	if len(d.pending) != 0 {
		t.Errorf("expectations left behind: %v", d.pending)
	}
}

func TestDeletionsForgetRollout(t *testing.T) {
	rollout := types.NamespacedName{Namespace: "default", Name: "kv"}
	var d deletions
	d.expect(rollout, "uid-2", time.Unix(200, 0))
	d.forget(rollout)
	if got := observe(t, &d, rollout, []*corev1.Pod{pod("kv-2", "uid-2", false)}); got[0].DeletionTimestamp != nil {
		t.Error("a forgotten rollout still marks pods")
	}
}

func TestOwnWritesWaitForTheCache(t *testing.T) {
	rollout := types.NamespacedName{Namespace: "default", Name: "kv"}
	var w ownWrites
	w.wrote(rollout, "5")
	w.wrote(rollout, "6")
	for _, version := range []string{"5", "6"} {
		if w.caughtUp(rollout, version) {
			t.Errorf("version %s, replaced by this operator's write, counts as caught up", version)
		}
	}
	if !w.caughtUp(rollout, "7") {
		t.Error("the version after the writes does not count as caught up")
	}
	if !w.caughtUp(rollout, "5") {
		t.Error("the writes were not forgotten once the cache caught up")
	}
}
