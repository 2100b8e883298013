package localcluster

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// The time the simulated kubelet takes to stop a deleted pod's containers,
// drawn per pod from [min, max].
const (
	stopDelayMin = 500 * time.Millisecond
	stopDelayMax = time.Second
	// reaperWorkers bounds the reaper's concurrent deletions.
	reaperWorkers = 16
)

// reaper plays the kubelet's last step for a deleted pod on a simulated
// node: once its containers have stopped (a short delay) and no finalizer
// holds it, it removes the pod from the API server. Like a kubelet, it
// removes the pod it saw terminating and no other: the deletion carries the
// pod's UID as a precondition. kwok's delete step goes by name alone, and a
// delete queued from a stale event of a pod already gone then hits the
// StatefulSet controller's replacement of the same name.
type reaper struct {
	clientset kubernetes.Interface
	nodes     map[string]bool
	queue     workqueue.TypedDelayingInterface[terminatedPod]
	// pods is the watch's view, which tells whether a queued pod is still
	// there to remove.
	pods   cache.Store
	cancel context.CancelFunc
	done   sync.WaitGroup

	mu sync.Mutex
	// removed are the pods removed whose deletion the watch has not shown
	// yet: a late event of one must not queue a second removal.
	removed map[types.UID]bool
}

// terminatedPod is one pod to remove: a name alone could be its successor.
type terminatedPod struct {
	types.NamespacedName
	uid types.UID
}

// startReaper watches the pods of the given nodes until stop.
func startReaper(ctx context.Context, cs kubernetes.Interface, nodes []string) (*reaper, error) {
	ctx, cancel := context.WithCancel(ctx)
	r := &reaper{
		clientset: cs,
		nodes:     map[string]bool{},
		removed:   map[types.UID]bool{},
		queue:     workqueue.NewTypedDelayingQueue[terminatedPod](),
		cancel:    cancel,
	}
	for _, n := range nodes {
		r.nodes[n] = true
	}
	factory := informers.NewSharedInformerFactory(cs, 0)
	pods := factory.Core().V1().Pods().Informer()
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    r.consider,
		UpdateFunc: func(_, obj any) { r.consider(obj) },
		DeleteFunc: r.forget,
	}); err != nil {
		cancel()
		return nil, err
	}
	r.pods = pods.GetStore()
	factory.Start(ctx.Done())
	for range reaperWorkers {
		r.done.Go(func() { r.work(ctx) })
	}
	return r, nil
}

// consider queues a pod of a simulated node that is terminating and held by
// no finalizer. A pod queued twice (a later event of it) is removed once.
func (r *reaper) consider(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.DeletionTimestamp == nil || len(pod.Finalizers) > 0 || !r.nodes[pod.Spec.NodeName] {
		return
	}
	r.mu.Lock()
	removed := r.removed[pod.UID]
	r.mu.Unlock()
	if removed {
		return
	}
	delay := stopDelayMin + rand.N(stopDelayMax-stopDelayMin)
	r.queue.AddAfter(terminatedPod{types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}, pod.UID}, delay)
}

// forget drops a pod the watch shows gone.
func (r *reaper) forget(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		r.mu.Lock()
		delete(r.removed, pod.UID)
		r.mu.Unlock()
	}
}

func (r *reaper) work(ctx context.Context) {
	for {
		pod, shutdown := r.queue.Get()
		if shutdown {
			return
		}
		r.remove(ctx, pod)
		r.queue.Done(pod)
	}
}

// remove deletes the pod at once (grace period 0) if it is still the one
// seen terminating. A pod already gone, or replaced under its name (the
// UID precondition fails with a conflict), is left as it is. A pod queued
// again while its removal was in flight (a later event of it) is dropped
// without a request when the removal succeeded or the watch no longer shows
// it: with hundreds of pods terminating at once those second deletions were
// most of the API server's refused requests, and a kubelet sends none.
func (r *reaper) remove(ctx context.Context, pod terminatedPod) {
	if !r.stillThere(pod) {
		return
	}
	err := r.clientset.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64),
		Preconditions:      &metav1.Preconditions{UID: &pod.uid},
	})
	if err == nil {
		r.mu.Lock()
		r.removed[pod.uid] = true
		r.mu.Unlock()
	}
	if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) || ctx.Err() != nil {
		return
	}
	// Any other failure (the API server busy, say): try again shortly.
	r.queue.AddAfter(pod, stopDelayMin)
}

// stillThere says whether pod, by name and UID, is in the watch's view and
// was not removed already.
func (r *reaper) stillThere(pod terminatedPod) bool {
	r.mu.Lock()
	removed := r.removed[pod.uid]
	r.mu.Unlock()
	if removed {
		return false
	}
	obj, ok, err := r.pods.GetByKey(pod.Namespace + "/" + pod.Name)
	if err != nil || !ok {
		return false
	}
	seen, ok := obj.(*corev1.Pod)
	return ok && seen.UID == pod.uid
}

// stop ends the watch and waits for the deletions in flight.
func (r *reaper) stop() {
	r.cancel()
	r.queue.ShutDown()
	r.done.Wait()
}
