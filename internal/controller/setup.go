package controller

import (
	"context"
	"fmt"

	groupsnapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumegroupsnapshot/v1"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// Name is the controller's name in logs, metrics and events.
const Name = "sroll-operator"

// NewScheme knows the built-in types and sroll's.
func NewScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	utilruntime.Must(snapshotv1.AddToScheme(scheme))
	utilruntime.Must(groupsnapshotv1.AddToScheme(scheme))
	return scheme
}

// CacheOptions are the manager's cache options: the given namespaces (all
// when empty), managed fields stripped, and only the pods sroll manages,
// which its StatefulSets label sroll.dev/rollout, and the VolumeSnapshots
// and VolumeGroupSnapshots of its snapshot sets, labelled
// sroll.dev/snapshot-set.
func CacheOptions(namespaces []string) cache.Options {
	managed, err := labels.NewRequirement(v1alpha1.LabelRollout, selection.Exists, nil)
	utilruntime.Must(err)
	ofSet, err := labels.NewRequirement(v1alpha1.LabelSnapshotSet, selection.Exists, nil)
	utilruntime.Must(err)
	opts := cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:                          {Label: labels.NewSelector().Add(*managed)},
			&snapshotv1.VolumeSnapshot{}:           {Label: labels.NewSelector().Add(*ofSet)},
			&groupsnapshotv1.VolumeGroupSnapshot{}: {Label: labels.NewSelector().Add(*ofSet)},
		},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// New returns a reconciler wired to mgr.
func New(mgr ctrl.Manager, metrics *Metrics) *Reconciler {
	return &Reconciler{
		Client:     mgr.GetClient(),
		LiveReader: mgr.GetAPIReader(),
		Recorder:   mgr.GetEventRecorder(Name),
		Metrics:    metrics,
		Clock:      clock.RealClock{},
	}
}

// concurrentReconciles is how many rollouts are reconciled at once (never one
// rollout twice at once). A reconcile mostly waits for the API server (a
// first wave is three writes in a row), so with fewer workers than rollouts
// moving, a rollout whose image just changed waits in the queue behind the
// others' pod events: with 10 for 50 rollouts changed together, the first
// deletion came 3.3 s (median) after the change. A reconcile of 100 pods
// takes a few milliseconds of CPU, so 50 cost little more than 10.
const concurrentReconciles = 50

// SetupWithManager watches rollouts, their StatefulSets, their pods and the
// governing Services they created (one deleted is created again). With
// a Notifier it also runs the notifier (on the leader, like the controller)
// and reconciles a rollout whenever its targets acknowledged something, so
// that status.notifications records it; with Hooks, the hook runner, and a
// rollout is reconciled whenever one of its hooks finished; with
// WatchNodes, whenever a node holding one of its pods changes readiness or
// its out-of-service taint; with Measures,
// the measurement scheduler, and a rollout is reconciled whenever a
// measurement of its analyses was taken; with Consul, the Consul watcher,
// and a rollout is reconciled whenever its Consul service changed.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.pods = &rolloutPods{clock: r.Clock}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("statefulsetrollout").
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrentReconciles}).
		For(&v1alpha1.StatefulSetRollout{}).
		// Metadata only: the cache holds every Service of the watched
		// namespaces, and sroll asks only whether a name is taken.
		Owns(&corev1.Service{}, builder.OnlyMetadata).
		Watches(&appsv1.StatefulSet{}, handler.EnqueueRequestsFromMapFunc(rolloutOfStatefulSet), builder.WithPredicates(statefulSetChanged)).
		Watches(&corev1.Pod{}, r.pods.handler()).
		Watches(&v1alpha1.RolloutSnapshot{}, handler.EnqueueRequestsFromMapFunc(rolloutOfSet))
	if r.Notifier != nil {
		if err := runWith(mgr, b, "notifier", r.Notifier, r.Notifier.Delivered()); err != nil {
			return err
		}
	}
	if r.Hooks != nil {
		if err := runWith(mgr, b, "hook runner", r.Hooks, r.Hooks.Events()); err != nil {
			return err
		}
	}
	if r.WatchNodes {
		if err := indexPodNodes(context.Background(), mgr); err != nil {
			return fmt.Errorf("index pods by node: %w", err)
		}
		b = b.Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(rolloutsOnNode(mgr.GetClient())), builder.WithPredicates(nodeChanged))
	}
	if r.Measures != nil {
		if err := runWith(mgr, b, "measurement scheduler", r.Measures, r.Measures.Events()); err != nil {
			return err
		}
	}
	if r.Consul != nil {
		if err := runWith(mgr, b, "Consul watcher", r.Consul, r.Consul.Events()); err != nil {
			return err
		}
	}
	return b.Complete(r)
}

// runWith runs part, a background effector, with the manager, and
// reconciles the rollouts it names on events.
func runWith(mgr ctrl.Manager, b *builder.Builder, what string, part manager.Runnable,
	events <-chan event.TypedGenericEvent[*v1alpha1.StatefulSetRollout]) error {
	if err := mgr.Add(part); err != nil {
		return fmt.Errorf("add the %s: %w", what, err)
	}
	b.WatchesRawSource(source.Channel(events, &handler.TypedEnqueueRequestForObject[*v1alpha1.StatefulSetRollout]{}))
	return nil
}

// rolloutOfStatefulSet maps a StatefulSet to the rollout of the same name when
// a rollout controls it, or when nothing does: a rollout may be waiting to
// adopt it.
func rolloutOfStatefulSet(_ context.Context, sts client.Object) []reconcile.Request {
	if owner := metav1.GetControllerOf(sts); owner != nil && !isRollout(owner) {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: sts.GetNamespace(), Name: sts.GetName()}}}
}

// rolloutOfPod maps a pod to the rollout named like the StatefulSet that
// controls it.
func rolloutOfPod(_ context.Context, pod client.Object) []reconcile.Request {
	owner := metav1.GetControllerOf(pod)
	if owner == nil || owner.Kind != "StatefulSet" || groupOf(owner) != appsv1.GroupName {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: pod.GetNamespace(), Name: owner.Name}}}
}

func isRollout(owner *metav1.OwnerReference) bool {
	return owner.Kind == "StatefulSetRollout" && groupOf(owner) == v1alpha1.GroupVersion.Group
}

func groupOf(owner *metav1.OwnerReference) string {
	gv, err := schema.ParseGroupVersion(owner.APIVersion)
	if err != nil {
		return ""
	}
	return gv.Group
}
