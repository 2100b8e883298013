package localcluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// probeEventReason is the reason of the event kwok's pod-exec-probe stage
// records on a running pod with an exec readiness probe (see
// kwok/pod-exec-probe.yaml).
const probeEventReason = "ExecReadinessProbe"

// podWatches are the kubelet's watches of pods. A kubelet watches the pods
// of its node; this one watches only the namespaces where it runs
// something, so that a cluster whose pods have no exec probe and see no
// exec, such as the thousand-pod benchmarks, pays for no pod watch at all.
// A namespace is watched from the first exec into one of its pods, or from
// kwok's event announcing a pod with an exec readiness probe.
type podWatches struct {
	client  kubernetes.Interface
	handler cache.ResourceEventHandler
	ctx     context.Context
	events  informers.SharedInformerFactory

	mu         sync.Mutex
	namespaces map[string]informers.SharedInformerFactory
}

// startWatches watches kwok's probe events. Its client speaks protobuf and
// the pod caches drop managedFields.
func (k *kubelet) startWatches(cfg *rest.Config) error {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = runtime.ContentTypeProtobuf
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	k.client = client
	ctx, cancel := context.WithCancel(context.Background())
	k.cancel = cancel
	k.probes = newProbes(k)
	w := &podWatches{
		client: client,
		ctx:    ctx,
		handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { k.podChanged(nil, obj.(*corev1.Pod)) },
			UpdateFunc: func(old, obj any) { k.podChanged(old.(*corev1.Pod), obj.(*corev1.Pod)) },
			DeleteFunc: k.podDeleted,
		},
		namespaces: map[string]informers.SharedInformerFactory{},
	}
	w.events = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("reason", probeEventReason).String()
	}))
	announced := func(obj any) {
		if ev, ok := obj.(*corev1.Event); ok && ev.InvolvedObject.Kind == "Pod" {
			go func() {
				if _, err := w.namespace(ev.InvolvedObject.Namespace); err != nil {
					k.logs.Printf("Watching the pods of namespace %s failed: %v", ev.InvolvedObject.Namespace, err)
				}
			}()
		}
	}
	if _, err := w.events.Core().V1().Events().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    announced,
		UpdateFunc: func(_, obj any) { announced(obj) },
	}); err != nil {
		return err
	}
	k.watches = w
	w.events.Start(ctx.Done())
	k.done.Go(func() { k.probes.run(ctx) })
	return nil
}

// syncTimeout bounds the first list of a namespace's pods, and watchLag
// how far behind the API a watch may be.
const (
	syncTimeout = 30 * time.Second
	watchLag    = 5 * time.Second
)

// namespace watches the pods of a namespace, if not already, and returns
// their cache once it holds them.
func (w *podWatches) namespace(ns string) (corelisters.PodNamespaceLister, error) {
	w.mu.Lock()
	factory := w.namespaces[ns]
	if factory == nil {
		factory = informers.NewSharedInformerFactoryWithOptions(w.client, 0,
			informers.WithNamespace(ns), informers.WithTransform(dropManagedFields))
		if _, err := factory.Core().V1().Pods().Informer().AddEventHandler(w.handler); err != nil {
			w.mu.Unlock()
			return nil, err
		}
		w.namespaces[ns] = factory
		factory.Start(w.ctx.Done())
	}
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(w.ctx, syncTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(ctx.Done(), factory.Core().V1().Pods().Informer().HasSynced) {
		return nil, fmt.Errorf("pods of namespace %s not listed within %s", ns, syncTimeout)
	}
	return factory.Core().V1().Pods().Lister().Pods(ns), nil
}

// watched returns the cache of a watched namespace's pods, or nil.
func (w *podWatches) watched(ns string) corelisters.PodNamespaceLister {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f := w.namespaces[ns]; f != nil {
		return f.Core().V1().Pods().Lister().Pods(ns)
	}
	return nil
}

func (w *podWatches) stop() {
	if w == nil {
		return
	}
	w.events.Shutdown()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.namespaces {
		f.Shutdown()
	}
}

// follow makes sure the pod's end will be seen before a process starts in
// it: its namespace is watched, and the watch has caught up with the pod
// as read from the API, alive.
func (k *kubelet) follow(ctx context.Context, pod *corev1.Pod) error {
	pods, err := k.watches.namespace(pod.Namespace)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, watchLag)
	defer cancel()
	for {
		cached, err := pods.Get(pod.Name)
		switch {
		case err == nil && cached.UID == pod.UID && cached.DeletionTimestamp == nil:
			return nil
		case err == nil && cached.UID == pod.UID:
			return fmt.Errorf("pod %s/%s is terminating", pod.Namespace, pod.Name)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pod %s/%s: the kubelet's watch does not have it (%v)", pod.Namespace, pod.Name, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func dropManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
