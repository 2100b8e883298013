// Package rolloutwatch keeps informers over what a rollout's screen shows
// (the rollouts, their StatefulSets, ControllerRevisions, pods, events and
// snapshot sets) and says which rollout each change is of. The dashboard
// and `kubectl sroll status -w` read their model of a rollout from it.
package rolloutwatch

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// Change is a change to the world of one rollout.
type Change struct {
	Namespace, Name string
	// Rollout is true when the StatefulSetRollout itself changed, not one
	// of its objects.
	Rollout bool
}

// Options say what to watch and whom to tell.
type Options struct {
	Config *rest.Config
	Scheme *runtime.Scheme
	// Namespace is the one namespace to watch; "" watches all.
	Namespace string
	// Changed is called on every change, from the informers' goroutines.
	Changed func(Change)
	// WatchFailed is called when an informer loses its watch; the
	// informers retry on their own. Nil ignores it.
	WatchFailed func(error)
}

// Start starts the informers and returns, once they are synced, a client
// that reads from them and writes to the API server; it runs until ctx
// ends.
func Start(ctx context.Context, o Options) (client.Client, error) {
	// Only what the screen shows is cached: pods and StatefulSets of
	// rollouts (the operator labels both), events about rollouts.
	ofRollouts, err := labels.NewRequirement(v1alpha1.LabelRollout, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	managed := labels.NewSelector().Add(*ofRollouts)
	opts := cache.Options{
		Scheme: o.Scheme,
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:         {Label: managed},
			&appsv1.StatefulSet{}: {Label: managed},
			&corev1.Event{}:       {Field: fields.OneTermEqualSelector("involvedObject.kind", "StatefulSetRollout")},
		},
		ReaderFailOnMissingInformer: true,
	}
	if o.WatchFailed != nil {
		opts.DefaultWatchErrorHandler = func(_ context.Context, _ *toolscache.Reflector, err error) { o.WatchFailed(err) }
	}
	if o.Namespace != "" {
		opts.DefaultNamespaces = map[string]cache.Config{o.Namespace: {}}
	}
	informers, err := cache.New(o.Config, opts)
	if err != nil {
		return nil, err
	}
	// The plugin reads a rollout's events by these fields.
	for _, field := range []string{"involvedObject.kind", "involvedObject.name", "involvedObject.uid"} {
		err := informers.IndexField(ctx, &corev1.Event{}, field, func(obj client.Object) []string {
			o := obj.(*corev1.Event).InvolvedObject
			return []string{map[string]string{
				"involvedObject.kind": o.Kind, "involvedObject.name": o.Name, "involvedObject.uid": string(o.UID),
			}[field]}
		})
		if err != nil {
			return nil, err
		}
	}
	ofLabel := func(o metav1.Object) string { return o.GetLabels()[v1alpha1.LabelRollout] }
	kinds := []kind{
		{&v1alpha1.StatefulSetRollout{}, func(o metav1.Object) string { return o.GetName() }, true},
		{&appsv1.StatefulSet{}, ofLabel, false},
		{&corev1.Pod{}, ofLabel, false},
		{&appsv1.ControllerRevision{}, ownerStatefulSet, false},
		{&corev1.Event{}, func(o metav1.Object) string { return o.(*corev1.Event).InvolvedObject.Name }, false},
	}
	// Snapshot sets are watched where the cluster serves their kind and
	// the user may list and watch them: an operator older than the kind, or
	// a role without it, shows rollouts without their sets rather than none.
	snapshots, err := mayWatchSnapshots(ctx, o.Config, o.Namespace)
	if err != nil {
		return nil, err
	}
	if snapshots {
		kinds = append(kinds, kind{&v1alpha1.RolloutSnapshot{}, ofLabel, false})
	}
	for _, k := range kinds {
		informer, err := informers.GetInformer(ctx, k.obj, cache.BlockUntilSynced(false))
		if err != nil {
			return nil, err
		}
		if _, err := informer.AddEventHandler(handler(k, o.Changed)); err != nil {
			return nil, err
		}
	}
	reader, err := client.New(o.Config, client.Options{Scheme: o.Scheme, Cache: &client.CacheOptions{Reader: informers}})
	if err != nil {
		return nil, err
	}
	if !snapshots {
		reader = noSnapshots{reader}
	}
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		return nil, ctx.Err()
	}
	return reader, nil
}

// kind is a kind the informers watch; rollout names the rollout an object
// is of.
type kind struct {
	obj     client.Object
	rollout func(metav1.Object) string
	// itself is true for the rollouts.
	itself bool
}

func handler(k kind, changed func(Change)) toolscache.ResourceEventHandler {
	tell := func(obj any) {
		if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		o, err := meta.Accessor(obj)
		if err != nil {
			return
		}
		if name := k.rollout(o); name != "" {
			changed(Change{Namespace: o.GetNamespace(), Name: name, Rollout: k.itself})
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    tell,
		UpdateFunc: func(_, obj any) { tell(obj) },
		DeleteFunc: tell,
	}
}

// ownerStatefulSet is the rollout of a ControllerRevision: its StatefulSet
// has the rollout's name.
func ownerStatefulSet(o metav1.Object) string {
	if owner := metav1.GetControllerOf(o); owner != nil && owner.Kind == "StatefulSet" {
		return owner.Name
	}
	return ""
}

// mayWatchSnapshots says whether the cluster serves the RolloutSnapshot
// kind and the user may list and watch it in namespace ("" for all).
func mayWatchSnapshots(ctx context.Context, cfg *rest.Config, namespace string) (bool, error) {
	served, err := servesSnapshots(cfg)
	if err != nil || !served {
		return false, err
	}
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return false, err
	}
	for _, verb := range []string{"list", "watch"} {
		review, err := clientset.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: namespace, Verb: verb, Group: v1alpha1.GroupVersion.Group, Resource: "rolloutsnapshots",
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		if !review.Status.Allowed {
			return false, nil
		}
	}
	return true, nil
}

// servesSnapshots says whether the cluster serves the RolloutSnapshot kind.
func servesSnapshots(cfg *rest.Config) (bool, error) {
	d, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return false, err
	}
	resources, err := d.ServerResourcesForGroupVersion(v1alpha1.GroupVersion.String())
	if apierrors.IsNotFound(err) {
		// Not even the group: the rollouts' informer says sroll is not installed.
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, r := range resources.APIResources {
		if r.Kind == "RolloutSnapshot" {
			return true, nil
		}
	}
	return false, nil
}

// noSnapshots reads where snapshot sets are not watched: the rollouts have
// none to show.
type noSnapshots struct{ client.Client }

func (c noSnapshots) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*v1alpha1.RolloutSnapshotList); ok {
		return nil
	}
	return c.Client.List(ctx, list, opts...)
}
