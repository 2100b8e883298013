// Package watch is the Consul effector: it reads each rollout's service
// from Consul's health API on an interval, outside the reconcile, and
// announces the rollout when what it read changed; it puts the instances
// of pods being replaced in maintenance mode, and takes sroll's
// maintenance off once the pod it was for is gone. It never decides: the
// rollout planner does, through consul.Gate, from what it observed.
package watch

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/consul"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/internal/notify"
	"github.com/sroll-dev/sroll/internal/wake"
)

// maintenanceCheck is the ID prefix of the critical check Consul adds to
// an instance in maintenance mode; its notes are the reason.
const maintenanceCheck = "_service_maintenance:"

// Options configure a Watcher.
type Options struct {
	// AllowedHosts bounds the Consul addresses (--allowed-hosts).
	AllowedHosts egress.Hosts
	// Secrets reads ACL tokens: only opted-in Secrets.
	Secrets notify.SecretReader
	// Interval between two reads of a service. Default 2s.
	Interval time.Duration
	Clock    clock.PassiveClock
}

// Watcher watches the Consul services of the rollouts that have one.
type Watcher struct {
	// Rollouts runs the reads and calls under the manager's context and
	// wakes a rollout when its service changed.
	*wake.Rollouts
	opts Options

	mu       sync.Mutex
	rollouts map[types.NamespacedName]*watched
}

// watched is one rollout's service.
type watched struct {
	rollout *v1alpha1.StatefulSetRollout
	obs     *consul.Observation
	// calls are the instances with a maintenance call under way.
	calls map[string]bool
	stop  context.CancelFunc
	// refresh asks the read loop to read now.
	refresh chan struct{}
}

// New is a watcher; Start runs it.
func New(opts Options) *Watcher {
	if opts.Interval <= 0 {
		opts.Interval = 2 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Watcher{
		Rollouts: wake.New(), opts: opts,
		rollouts: map[types.NamespacedName]*watched{},
	}
}

// Observe is the last read of the rollout's service; nil before the first.
func (w *Watcher) Observe(key types.NamespacedName) *consul.Observation {
	w.mu.Lock()
	defer w.mu.Unlock()
	if rw := w.rollouts[key]; rw != nil && rw.obs != nil {
		obs := *rw.obs
		obs.Instances = append([]consul.Instance(nil), rw.obs.Instances...)
		return &obs
	}
	return nil
}

// Watch keeps reading the rollout's service (starting to, the first
// time), puts the instances of drain in maintenance and takes sroll's
// maintenance off the instances of lift, each once at a time.
func (w *Watcher) Watch(rollout *v1alpha1.StatefulSetRollout, drain []consul.DrainRequest, lift []string) {
	key := types.NamespacedName{Namespace: rollout.Namespace, Name: rollout.Name}
	w.mu.Lock()
	defer w.mu.Unlock()
	rw, ok := w.rollouts[key]
	if !ok {
		ctx, stop := context.WithCancel(w.Context())
		rw = &watched{calls: map[string]bool{}, stop: stop, refresh: make(chan struct{}, 1)}
		w.rollouts[key] = rw
		go w.read(ctx, key, rw)
	}
	rw.rollout = rollout.DeepCopy()
	for _, d := range drain {
		w.call(key, rw, d.Instance, func(ctx context.Context, c *api.Client) error {
			// Consul applies the call before it returns, within
			// maintenanceTimeout: the drain counts from then at the latest.
			since := w.opts.Clock.Now().Add(maintenanceTimeout)
			reason := consul.MaintenanceReason(d.Pod, d.UID, since)
			return c.Agent().EnableServiceMaintenanceOpts(d.Instance, reason, (&api.QueryOptions{}).WithContext(ctx))
		})
	}
	for _, id := range lift {
		w.call(key, rw, id, func(ctx context.Context, c *api.Client) error {
			return c.Agent().DisableServiceMaintenanceOpts(id, (&api.QueryOptions{}).WithContext(ctx))
		})
	}
}

// maintenanceTimeout bounds a maintenance call: a drain is timed from the
// latest moment Consul can have applied it.
const maintenanceTimeout = time.Second

// call runs one maintenance call for an instance unless one is under way,
// then has the service read again.
func (w *Watcher) call(key types.NamespacedName, rw *watched, instance string, do func(context.Context, *api.Client) error) {
	if rw.calls[instance] {
		return
	}
	rw.calls[instance] = true
	rollout, ctx := rw.rollout, w.Context()
	go func() {
		callCtx, cancel := context.WithTimeout(ctx, maintenanceTimeout)
		err := w.with(callCtx, rollout, func(c *api.Client) error { return do(callCtx, c) })
		cancel()
		logger := log.FromContext(ctx).WithValues("StatefulSetRollout", key, "instance", instance)
		if err != nil {
			logger.Error(err, "Failed a Consul maintenance call")
		} else {
			logger.Info("Changed a Consul instance's maintenance mode")
		}
		w.mu.Lock()
		delete(rw.calls, instance)
		w.mu.Unlock()
		select {
		case rw.refresh <- struct{}{}:
		default:
		}
	}()
}

// read reads the service every interval (or when asked) until the
// rollout is forgotten, announcing the rollout when the read changed.
func (w *Watcher) read(ctx context.Context, key types.NamespacedName, rw *watched) {
	ticker := time.NewTicker(w.opts.Interval)
	defer ticker.Stop()
	for {
		w.mu.Lock()
		rollout := rw.rollout
		w.mu.Unlock()
		obs := w.observe(ctx, rollout)
		w.mu.Lock()
		changed := rw.obs == nil || rw.obs.Err != obs.Err || !reflect.DeepEqual(rw.obs.Instances, obs.Instances)
		rw.obs = obs
		w.mu.Unlock()
		if changed {
			if !w.Wake(ctx, rollout) {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-rw.refresh:
		}
	}
}

// observe reads the instances of the rollout's service.
func (w *Watcher) observe(ctx context.Context, rollout *v1alpha1.StatefulSetRollout) *consul.Observation {
	obs := &consul.Observation{At: w.opts.Clock.Now()}
	err := w.with(ctx, rollout, func(c *api.Client) error {
		entries, _, err := c.Health().Service(rollout.Spec.Rollout.Consul.Service, "", false, (&api.QueryOptions{}).WithContext(ctx))
		if err != nil {
			return err
		}
		obs.Instances = make([]consul.Instance, 0, len(entries))
		for _, e := range entries {
			in := consul.Instance{ID: e.Service.ID, Address: e.Service.Address, Passing: e.Checks.AggregatedStatus() == api.HealthPassing}
			if in.Address == "" && e.Node != nil {
				in.Address = e.Node.Address
			}
			for _, check := range e.Checks {
				if check.CheckID == maintenanceCheck+e.Service.ID {
					in.Drain = consul.ParseReason(check.Notes)
				}
			}
			obs.Instances = append(obs.Instances, in)
		}
		return nil
	})
	if err != nil {
		obs.Err, obs.Instances = err.Error(), nil
	}
	return obs
}

// with calls do with a client of the rollout's Consul: its address held
// to the allowed hosts, its token read from its opted-in Secret.
func (w *Watcher) with(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, do func(*api.Client) error) error {
	spec := rollout.Spec.Rollout.Consul
	if spec == nil {
		return fmt.Errorf("spec.rollout.consul is not set")
	}
	if err := w.opts.AllowedHosts.Check(spec.Address); err != nil {
		return fmt.Errorf("consul address %s: %w", spec.Address, err)
	}
	cfg := &api.Config{Address: spec.Address, Scheme: "http",
		HttpClient: w.opts.AllowedHosts.Client(&http.Client{Timeout: 10 * time.Second})}
	if ref := spec.TokenSecretRef; ref != nil {
		token, err := w.opts.Secrets(ctx, rollout.Namespace, *ref)
		if err != nil {
			return fmt.Errorf("reading the Consul token: %w", err)
		}
		cfg.Token = token
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return fmt.Errorf("consul address %s: %w", spec.Address, err)
	}
	return do(c)
}

// Forget stops watching a rollout (deleted, or without spec.rollout.consul).
func (w *Watcher) Forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if rw := w.rollouts[key]; rw != nil {
		rw.stop()
		delete(w.rollouts, key)
	}
}
