package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// Cluster states, as the list page shows them.
const (
	stateConnecting  = "connecting"
	stateReady       = "ready"
	stateUnreachable = "unreachable"
)

const (
	// dialTimeout bounds connecting to an API server, so that one that
	// does not answer at all is shown unreachable within seconds.
	dialTimeout = 5 * time.Second
	// retryMin and retryMax bound the wait between attempts to reach a
	// cluster that is not reachable; nothing is polled once it is.
	retryMin = time.Second
	retryMax = 30 * time.Second
)

// cluster is one context's informers: the rollouts, their StatefulSets,
// ControllerRevisions, pods and events, each change told to the pages.
type cluster struct {
	Cluster
	client  client.Client
	changes *changes

	mu    sync.Mutex
	state string
	err   string
	// probing is true while a probe loop runs after a watch error.
	probing bool
}

func newCluster(c Cluster, ch *changes) *cluster {
	cfg := rest.CopyConfig(c.Config)
	cfg.Dial = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	c.Config = cfg
	return &cluster{Cluster: c, changes: ch, state: stateConnecting}
}

func (c *cluster) status() ClusterState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ClusterState{Name: c.Name, State: c.state, Error: c.err}
}

func (c *cluster) set(state, err string) {
	c.mu.Lock()
	same := c.state == state && c.err == err
	c.state, c.err = state, err
	c.mu.Unlock()
	if !same {
		c.changes.clusterChanged(c.Name)
	}
}

// run connects, retrying while the cluster can't be reached, and keeps the
// informers running until ctx ends.
func (c *cluster) run(ctx context.Context, scheme *runtime.Scheme) {
	wait := retryMin
	for {
		err := c.start(ctx, scheme)
		if err == nil || ctx.Err() != nil {
			return
		}
		c.set(stateUnreachable, explain(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

// start sets up the informers and returns once they are synced, or with
// the error that keeps them from starting.
func (c *cluster) start(ctx context.Context, scheme *runtime.Scheme) error {
	// Only what the pages show is cached: pods and StatefulSets of
	// rollouts (the operator labels both), events about rollouts.
	ofRollouts, err := labels.NewRequirement(v1alpha1.LabelRollout, selection.Exists, nil)
	if err != nil {
		return err
	}
	managed := labels.NewSelector().Add(*ofRollouts)
	opts := cache.Options{
		Scheme: scheme,
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:         {Label: managed},
			&appsv1.StatefulSet{}: {Label: managed},
			&corev1.Event{}:       {Field: fields.OneTermEqualSelector("involvedObject.kind", "StatefulSetRollout")},
		},
		DefaultWatchErrorHandler: func(_ context.Context, _ *toolscache.Reflector, err error) {
			c.watchFailed(ctx, err)
		},
		ReaderFailOnMissingInformer: true,
	}
	if c.Namespace != "" {
		opts.DefaultNamespaces = map[string]cache.Config{c.Namespace: {}}
	}
	informers, err := cache.New(c.Config, opts)
	if err != nil {
		return err
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
			return err
		}
	}
	kinds := []watched{
		{&v1alpha1.StatefulSetRollout{}, func(o metav1.Object) string { return o.GetName() }, true},
		{&appsv1.StatefulSet{}, func(o metav1.Object) string { return o.GetLabels()[v1alpha1.LabelRollout] }, false},
		{&corev1.Pod{}, func(o metav1.Object) string { return o.GetLabels()[v1alpha1.LabelRollout] }, false},
		{&appsv1.ControllerRevision{}, ownerStatefulSet, false},
		{&corev1.Event{}, func(o metav1.Object) string { return o.(*corev1.Event).InvolvedObject.Name }, false},
	}
	// Snapshot sets are watched where the cluster serves their kind; an
	// operator older than the kind runs without them.
	snapshots, err := servesSnapshots(c.Config)
	if err != nil {
		return err
	}
	if snapshots {
		kinds = append(kinds, watched{&v1alpha1.RolloutSnapshot{}, func(o metav1.Object) string { return o.GetLabels()[v1alpha1.LabelRollout] }, false})
	}
	for _, w := range kinds {
		informer, err := informers.GetInformer(ctx, w.obj, cache.BlockUntilSynced(false))
		if err != nil {
			return err
		}
		_, err = informer.AddEventHandler(c.handler(w.key, w.inList))
		if err != nil {
			return err
		}
	}
	reader, err := client.New(c.Config, client.Options{Scheme: scheme, Cache: &client.CacheOptions{Reader: informers}})
	if err != nil {
		return err
	}
	if !snapshots {
		reader = noSnapshots{reader}
	}
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		return ctx.Err()
	}
	c.mu.Lock()
	c.client = reader
	c.mu.Unlock()
	c.set(stateReady, "")
	return nil
}

// watched is a kind the informers watch, key naming the rollout an object
// is of; inList when a change of it changes the list page.
type watched struct {
	obj    client.Object
	key    func(metav1.Object) string
	inList bool
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

// noSnapshots reads from a cluster that does not serve the RolloutSnapshot
// kind: its rollouts have no snapshot sets.
type noSnapshots struct{ client.Client }

func (c noSnapshots) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*v1alpha1.RolloutSnapshotList); ok {
		return nil
	}
	return c.Client.List(ctx, list, opts...)
}

// ownerStatefulSet is the rollout of a ControllerRevision: its StatefulSet
// has the rollout's name.
func ownerStatefulSet(o metav1.Object) string {
	if owner := metav1.GetControllerOf(o); owner != nil && owner.Kind == "StatefulSet" {
		return owner.Name
	}
	return ""
}

func (c *cluster) handler(key func(metav1.Object) string, inList bool) toolscache.ResourceEventHandler {
	changed := func(obj any) {
		if tombstone, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		o, err := meta.Accessor(obj)
		if err != nil {
			return
		}
		if name := key(o); name != "" {
			c.changes.rolloutChanged(Key{Cluster: c.Name, Namespace: o.GetNamespace(), Name: name}, inList)
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: changed,
	}
}

// watchFailed marks the cluster unreachable when an informer loses its
// watch, and probes the API server until it answers again; the informers
// retry on their own meanwhile.
func (c *cluster) watchFailed(ctx context.Context, err error) {
	c.mu.Lock()
	probing := c.probing
	c.probing = true
	c.mu.Unlock()
	c.set(stateUnreachable, explain(err))
	if probing {
		return
	}
	go func() {
		defer func() { c.mu.Lock(); c.probing = false; c.mu.Unlock() }()
		probe, err := discovery.NewDiscoveryClientForConfig(c.Config)
		if err != nil {
			return
		}
		wait := retryMin
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			if _, err := probe.ServerVersion(); err == nil {
				c.set(stateReady, "")
				return
			}
			wait = min(2*wait, retryMax)
		}
	}()
}

// explain words an error reaching a cluster.
func explain(err error) string {
	if meta.IsNoMatchError(err) || discovery.IsGroupDiscoveryFailedError(err) {
		return "sroll is not installed in this cluster"
	}
	// The innermost network error says it; the layers above it (REST
	// mapping, discovery) only repeat the URL.
	var dial *net.OpError
	if errors.As(err, &dial) && dial.Addr != nil {
		return fmt.Sprintf("cannot reach %s: %v", dial.Addr, dial.Err)
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return fmt.Sprintf("cannot resolve %s", dns.Name)
	}
	return err.Error()
}

// reader is the client reading from the informers once they are synced;
// nil before.
func (c *cluster) reader() client.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client
}
