package notify

import (
	"cmp"
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/egress"
)

// SecretReader returns the value of one key of a Secret in a namespace. It
// is called for every send attempt, so a rotated token takes effect at once.
type SecretReader func(ctx context.Context, namespace string, ref v1alpha1.SecretKeyRef) (string, error)

// Options tune the dispatcher. Zero values take the defaults, which follow
// Slack's published limits; tests shorten the intervals.
type Options struct {
	// Cluster is the name shown in messages and sent in webhooks (the
	// operator's --cluster-name flag).
	Cluster string
	// Workers send concurrently, one call each at a time. Default 4.
	Workers int
	// AllowedHosts bounds the hosts targets may name (the operator's
	// --allowed-hosts); the zero value allows none. A target outside it is
	// refused, and so is a redirect outside it.
	AllowedHosts egress.Hosts
	// HTTPClient makes every call. Default: a client with a 10s timeout.
	HTTPClient *http.Client
	// PostInterval spaces chat.postMessage calls (messages and thread
	// replies) per channel. Default DefaultPostInterval.
	PostInterval time.Duration
	// UpdateInterval spaces chat.update calls per workspace. Default
	// DefaultUpdateInterval.
	UpdateInterval time.Duration
	// InitialBackoff doubles on each failed attempt up to MaxBackoff.
	// Defaults 1s and 5m.
	InitialBackoff, MaxBackoff time.Duration
	// MaxAttempts bounds the attempts for a non-terminal event (thread
	// reply or webhook). The latest Slack state and terminal events are
	// retried until delivered. Default 10 (about 13 minutes with the
	// default backoff).
	MaxAttempts int
	// MaxPending bounds the items waiting per rollout and target; beyond
	// it the oldest non-terminal event is dropped. Default 64.
	MaxPending int
	// MaxStreams bounds the rollout-target pairs remembered; a new pair
	// beyond it is dropped. Default 4096.
	MaxStreams int
	// Registerer receives the metrics (controller-runtime's
	// metrics.Registry in the operator); nil registers nothing.
	Registerer prometheus.Registerer
	// Log defaults to controller-runtime's logger named "notify".
	Log logr.Logger
}

func (o Options) withDefaults() Options {
	set := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	setInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&o.PostInterval, DefaultPostInterval)
	set(&o.UpdateInterval, DefaultUpdateInterval)
	set(&o.InitialBackoff, time.Second)
	set(&o.MaxBackoff, 5*time.Minute)
	setInt(&o.Workers, 4)
	setInt(&o.MaxAttempts, 10)
	setInt(&o.MaxPending, 64)
	setInt(&o.MaxStreams, 4096)
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	o.HTTPClient = o.AllowedHosts.Client(o.HTTPClient)
	if o.Log.GetSink() == nil {
		o.Log = log.Log.WithName("notify")
	}
	return o
}

// Dispatcher sends rollout notifications in the background. Notify never
// blocks; Start runs the workers. See the package documentation for how the
// controller calls it.
type Dispatcher struct {
	opts    Options
	secrets SecretReader
	log     logr.Logger
	metrics *metrics
	limiter *limiter
	queue   workqueue.TypedDelayingInterface[streamKey]

	mu       sync.Mutex
	rollouts map[types.NamespacedName]*rolloutState
	streams  int    // streams in rollouts, against MaxStreams
	nextID   uint64 // item ids
	// signals are rollouts whose recorded status changed and that the
	// controller has not been told about yet.
	signals map[types.NamespacedName]bool

	poke      chan struct{}
	delivered chan event.TypedGenericEvent[*v1alpha1.StatefulSetRollout]
}

// NewDispatcher returns a dispatcher that reads target secrets with secrets.
func NewDispatcher(secrets SecretReader, opts Options) *Dispatcher {
	opts = opts.withDefaults()
	return &Dispatcher{
		opts:      opts,
		secrets:   secrets,
		log:       opts.Log,
		metrics:   newMetrics(opts.Registerer),
		limiter:   newLimiter(),
		queue:     workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[streamKey]{}),
		rollouts:  map[types.NamespacedName]*rolloutState{},
		signals:   map[types.NamespacedName]bool{},
		poke:      make(chan struct{}, 1),
		delivered: make(chan event.TypedGenericEvent[*v1alpha1.StatefulSetRollout], 64),
	}
}

// Start runs the workers until ctx is done. It fits manager.Runnable, and
// like any runnable without NeedLeaderElection it runs on the leader only.
// Work still pending at shutdown is lost, except terminal events, which the
// next leader redelivers from the recorded status.
func (d *Dispatcher) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for range d.opts.Workers {
		wg.Go(func() {
			for d.processNext(ctx) {
			}
		})
	}
	wg.Go(func() { d.signalLoop(ctx) })
	<-ctx.Done()
	d.queue.ShutDown()
	wg.Wait()
	return nil
}

// Delivered yields a rollout whenever what its targets were told changed:
// the controller should reconcile it and write Record's result to
// status.notifications. Use it with source.Channel.
func (d *Dispatcher) Delivered() <-chan event.TypedGenericEvent[*v1alpha1.StatefulSetRollout] {
	return d.delivered
}

// Notify takes a report of a rollout, after its status was written. It
// never blocks: it appends to per-target backlogs, coalescing Slack states,
// and wakes a worker.
func (d *Dispatcher) Notify(s Report) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.rollouts[s.Key]
	if r != nil && r.uid != s.UID {
		d.forgetLocked(s.Key)
		r = nil
	}
	if r == nil {
		r = &rolloutState{uid: s.UID, streams: map[string]*stream{}}
		d.rollouts[s.Key] = r
	}
	s = r.show(s)
	configured := map[string]bool{}
	for _, t := range s.Targets {
		configured[t.Name] = true
		st := r.streams[t.Name]
		fresh := st == nil || st.kind != kindOf(t)
		if fresh {
			if st != nil {
				d.dropStream(r, st)
			}
			if d.streams >= d.opts.MaxStreams {
				d.metrics.dropped.WithLabelValues(kindOf(t)).Inc()
				d.log.Info("Dropped notification: too many targets", "rollout", s.Key, "target", t.Name, "maxStreams", d.opts.MaxStreams)
				continue
			}
			st = newStream(s, t)
			r.streams[t.Name] = st
			d.streams++
		}
		if st.status.Refused != "" && !reflect.DeepEqual(st.target, t) {
			st.notBefore = time.Time{} // the fix may be this change: try it now
		}
		st.target = t
		if d.add(st, s, fresh) {
			d.queue.Add(st.key)
		}
	}
	for name, st := range r.streams {
		if !configured[name] {
			d.dropStream(r, st)
		}
	}
}

// Record returns status.notifications for a rollout: what the status
// recorded when the dispatcher first saw the rollout, updated with what was
// delivered since, one entry per configured target that is told about a
// rollout, sorted by target. Entries of removed targets are gone. For a
// rollout the dispatcher has not been told about (before the first Notify
// after a restart) it returns recorded unchanged.
func (d *Dispatcher) Record(key types.NamespacedName, recorded []v1alpha1.NotificationStatus) []v1alpha1.NotificationStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.rollouts[key]
	if r == nil {
		return recorded
	}
	var out []v1alpha1.NotificationStatus
	for _, st := range r.streams {
		if st.status.Revision != "" {
			out = append(out, copyStatus(st.status))
		}
	}
	slices.SortFunc(out, func(a, b v1alpha1.NotificationStatus) int { return strings.Compare(a.Target, b.Target) })
	return out
}

// Forget drops everything pending for a rollout; the controller calls it
// when the rollout is deleted.
func (d *Dispatcher) Forget(key types.NamespacedName) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.forgetLocked(key)
}

func (d *Dispatcher) forgetLocked(key types.NamespacedName) {
	r := d.rollouts[key]
	if r == nil {
		return
	}
	for _, st := range r.streams {
		d.dropStream(r, st)
	}
	delete(d.rollouts, key)
	delete(d.signals, key)
}

// dropStream forgets a target, counting what it still had to send.
func (d *Dispatcher) dropStream(r *rolloutState, st *stream) {
	if n := len(st.items); n > 0 {
		d.metrics.dropped.WithLabelValues(st.kind).Add(float64(n))
	}
	delete(r.streams, st.key.Target)
	d.streams--
}

// newStream starts a target's stream from what the status recorded, so that
// a restarted operator updates the Slack message it posted before.
func newStream(s Report, t v1alpha1.NotificationTarget) *stream {
	st := &stream{
		key:    streamKey{Rollout: s.Key, Target: t.Name},
		kind:   kindOf(t),
		target: t,
		status: v1alpha1.NotificationStatus{Target: t.Name},
	}
	for _, rec := range s.Recorded {
		if rec.Target == t.Name {
			st.status = copyStatus(rec)
		}
	}
	if st.kind == kindSlack && st.status.SlackTS != "" && st.status.Revision == s.TemplateHash {
		st.msg = slackMessage{rollout: s.TemplateHash, channel: st.status.SlackChannel, ts: st.status.SlackTS}
	}
	return st
}

// add appends what the report means for one target and reports whether
// there is anything new to send.
//
// A rollout standing in a terminal phase is settled for a target that
// acknowledged its end, or never heard of it (a new StatefulSet, a target
// added later): nothing is sent, not even a message update. A fresh stream
// (first report since the operator started) of a rollout whose end the
// target has not acknowledged delivers that end again, once.
func (d *Dispatcher) add(st *stream, s Report, fresh bool) bool {
	var events []Event
	for _, e := range s.Events {
		if wants(st.target, e.Type) {
			events = append(events, e)
		}
	}
	if end := impliedTerminal(s.Phase); end != "" && !slices.ContainsFunc(events, func(e Event) bool { return e.Type == end }) {
		told := s.recordsAttempt(st.status)
		switch {
		case fresh && told && st.status.Delivered != end && wants(st.target, end):
			events = append(events, Event{Type: end, Step: s.Step, Reason: s.Message})
			d.log.Info("Queued terminal event again: not recorded as delivered", "rollout", s.Key, "target", st.key.Target, "event", end, "templateHash", s.TemplateHash)
		case len(events) == 0 && (!told || st.status.Delivered == end):
			return false
		}
	}
	if (s.forward() || len(s.Events) > 0) && !s.recordsAttempt(st.status) {
		// The attempt is announced: the target is told about it from now
		// on. Recorded at once, not at the first delivery, so that a
		// target that hears nothing before the end (a webhook asking for
		// terminal events only) still gets the end after a restart, with
		// the revision it started from. Another attempt at the same
		// template (a retry) stays in the same Slack message: only the
		// terminal event it acknowledged starts over.
		rec := s.attemptRecord(st.key.Target)
		// A refusal holds until an attempt gets past it, whatever the attempt.
		rec.Refused, rec.Message = st.status.Refused, st.status.Message
		if st.status.Revision == s.TemplateHash {
			rec.SlackTS, rec.SlackChannel = st.status.SlackTS, st.status.SlackChannel
			rec.FromRevision = cmp.Or(rec.FromRevision, st.status.FromRevision)
		}
		st.status = rec
		d.signal(st.key.Rollout)
	}
	s.Targets, s.Recorded = nil, nil // the items need the rollout, not the configuration
	added := false
	if st.kind == kindSlack {
		if st.appendState(d.newItem(s, Event{})) {
			d.metrics.coalesced.WithLabelValues(kindSlack).Inc()
		}
		added = true
	}
	for _, e := range events {
		st.items = append(st.items, d.newItem(s, e))
		added = true
	}
	if n := st.trim(d.opts.MaxPending); n > 0 {
		d.metrics.dropped.WithLabelValues(st.kind).Add(float64(n))
		d.log.Info("Dropped notifications: backlog full", "rollout", s.Key, "target", st.key.Target, "dropped", n)
	}
	return added
}

func (d *Dispatcher) newItem(s Report, e Event) item {
	d.nextID++
	it := item{id: d.nextID, report: s, event: e}
	if e.Type != "" {
		it.body = payloadJSON(s, e, d.opts.Cluster)
	}
	return it
}

// signalLoop tells the controller about rollouts with news for their
// status. It is the only sender on the channel, so a controller that is
// slow to read holds up signals, never deliveries.
func (d *Dispatcher) signalLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.poke:
		}
		for _, key := range d.takeSignals() {
			rollout := &v1alpha1.StatefulSetRollout{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
			select {
			case d.delivered <- event.TypedGenericEvent[*v1alpha1.StatefulSetRollout]{Object: rollout}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// signal tells the controller, through signalLoop, that a rollout's
// status.notifications changed.
func (d *Dispatcher) signal(key types.NamespacedName) {
	d.signals[key] = true
	select {
	case d.poke <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) takeSignals() []types.NamespacedName {
	d.mu.Lock()
	defer d.mu.Unlock()
	keys := make([]types.NamespacedName, 0, len(d.signals))
	for key := range d.signals {
		keys = append(keys, key)
	}
	clear(d.signals)
	slices.SortFunc(keys, func(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) })
	return keys
}

func copyStatus(s v1alpha1.NotificationStatus) v1alpha1.NotificationStatus {
	if s.DeliveredAt != nil {
		at := *s.DeliveredAt
		s.DeliveredAt = &at
	}
	return s
}
