package localcluster

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// A pod queued again while its removal was in flight is dropped without a
// request: removed already, gone from the watch, or replaced under its name.
func TestReaperRemovesOnlyThePodItStillSees(t *testing.T) {
	store := cache.NewStore(cache.MetaNamespaceKeyFunc)
	terminating := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kv-0", UID: "old"}}
	if err := store.Add(terminating); err != nil {
		t.Fatal(err)
	}
	r := &reaper{pods: store, removed: map[types.UID]bool{}}
	old := terminatedPod{types.NamespacedName{Namespace: "ns", Name: "kv-0"}, "old"}

	if !r.stillThere(old) {
		t.Fatal("the pod the watch shows terminating is not removed")
	}
	r.removed["old"] = true
	if r.stillThere(old) {
		t.Error("a pod removed already, its deletion not yet watched, would be deleted again")
	}
	delete(r.removed, "old")
	successor := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kv-0", UID: "new"}}
	if err := store.Update(successor); err != nil {
		t.Fatal(err)
	}
	if r.stillThere(old) {
		t.Error("a request would go out for the old pod while the watch shows its successor")
	}
	if err := store.Delete(successor); err != nil {
		t.Fatal(err)
	}
	if r.stillThere(old) {
		t.Error("a request would go out for a pod the watch shows gone")
	}
}
