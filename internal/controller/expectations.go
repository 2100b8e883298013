package controller

import (
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/internal/plan"
)

// deletions remembers the pods this operator deleted until the cache shows
// each of them terminating or gone. Until then a stale cache shows a deleted
// pod as running, and the planner would count it as available and spend the
// disruption budget on it a second time. Memory only: after a restart the
// cache starts from a fresh list, which already shows every deletion.
type deletions struct {
	mu sync.Mutex
	// pending maps a rollout to the UIDs of its deleted pods and when each
	// was deleted.
	pending map[types.NamespacedName]map[types.UID]time.Time
}

// expect records that the pod with uid was deleted at the given time.
func (d *deletions) expect(rollout types.NamespacedName, uid types.UID, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending == nil {
		d.pending = map[types.NamespacedName]map[types.UID]time.Time{}
	}
	if d.pending[rollout] == nil {
		d.pending[rollout] = map[types.UID]time.Time{}
	}
	d.pending[rollout][uid] = at
}

// observe marks every pod deleted but still shown running as terminating
// since its deletion (a marked copy, and its facts, take its place), and
// forgets the deletions pods already show. A pod is identified by its UID,
// so a pod recreated under the same name is not mistaken for the deleted
// one.
func (d *deletions) observe(rollout types.NamespacedName, pods []*corev1.Pod, facts []plan.PodFacts) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pending := d.pending[rollout]
	if len(pending) == 0 {
		return
	}
	listed := make(map[types.UID]bool, len(pending))
	for i, pod := range pods {
		at, ok := pending[pod.UID]
		if !ok {
			continue
		}
		listed[pod.UID] = true
		if pod.DeletionTimestamp != nil {
			delete(pending, pod.UID)
			continue
		}
		// A copy: the pod may be the cache's own object. Shallow is
		// enough, only a field of the pod itself changes.
		marked := *pod
		marked.DeletionTimestamp = &metav1.Time{Time: at}
		pods[i], facts[i] = &marked, plan.FactsOf(&marked)
	}
	for uid := range pending {
		if !listed[uid] {
			delete(pending, uid)
		}
	}
	if len(pending) == 0 {
		delete(d.pending, rollout)
	}
}

// forget drops the deletions of a rollout that no longer exists.
func (d *deletions) forget(rollout types.NamespacedName) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.pending, rollout)
}

// ownWrites remembers the resourceVersions a rollout had before this
// operator's writes of the current reconcile. While the cache still shows
// one of them, it has not caught up with those writes: a plan from it would
// be refused by the optimistic lock, or repeat a write. The watch event of
// the write brings the cache up to date and starts the next reconcile.
type ownWrites struct {
	mu sync.Mutex
	// before maps a rollout to the versions its writes replaced.
	before map[types.NamespacedName][]string
}

// wrote records that a write replaced version of rollout.
func (w *ownWrites) wrote(rollout types.NamespacedName, version string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.before == nil {
		w.before = map[types.NamespacedName][]string{}
	}
	w.before[rollout] = append(w.before[rollout], version)
}

// caughtUp says whether version of rollout, as the cache shows it, is not
// one this operator's writes replaced; once it is not, they are forgotten.
func (w *ownWrites) caughtUp(rollout types.NamespacedName, version string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if slices.Contains(w.before[rollout], version) {
		return false
	}
	delete(w.before, rollout)
	return true
}

// forget drops what is remembered of a rollout that no longer exists.
func (w *ownWrites) forget(rollout types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.before, rollout)
}
