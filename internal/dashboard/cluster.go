package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/internal/rolloutwatch"
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
	reader, err := rolloutwatch.Start(ctx, rolloutwatch.Options{
		Config: c.Config, Scheme: scheme, Namespace: c.Namespace,
		Changed: func(ch rolloutwatch.Change) {
			c.changes.rolloutChanged(Key{Cluster: c.Name, Namespace: ch.Namespace, Name: ch.Name}, ch.Rollout)
		},
		WatchFailed: func(err error) { c.watchFailed(ctx, err) },
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.client = reader
	c.mu.Unlock()
	c.set(stateReady, "")
	return nil
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
