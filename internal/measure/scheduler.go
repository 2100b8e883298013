package measure

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/analysis"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/internal/notify"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/wake"
)

// Record names the status record of one check of one analysis, the record
// a measurement is appended to (plan.Measure names it the same way).
type Record struct {
	Check      string
	Background bool
	Step       int32
}

// RecordOf is the record a planned measurement goes to.
func RecordOf(m plan.Measure) Record {
	return Record{Check: m.Check, Background: m.Background, Step: m.Step}
}

// Is reports whether rec is the status record r names.
func (r Record) Is(rec v1alpha1.CheckRecord) bool {
	return rec.Check == r.Check && rec.Background == r.Background && (r.Background || rec.Step == r.Step)
}

// Result is one measurement taken, for its record.
type Result struct {
	Record
	Measurement v1alpha1.Measurement
}

// Options configure a Scheduler.
type Options struct {
	// Workers bound the measurements taken at once, across every rollout.
	Workers int
	// AllowedHosts bounds the addresses checks may call (--allowed-hosts).
	AllowedHosts egress.Hosts
	// Secrets reads bearer tokens and signing keys: only opted-in Secrets,
	// as for notification targets.
	Secrets notify.SecretReader
	Clock   clock.WithDelayedExecution
	// Registerer receives sroll_analysis_measurements_total; nil registers nothing.
	Registerer prometheus.Registerer
}

// Scheduler takes the measurements the planner asks for (plan.Measure),
// each at its time, on a bounded number of workers, outside the reconcile:
// a slow Prometheus never holds up a reconcile. It keeps the results until
// the controller takes them (Observe) and records them in status, then
// announces the rollout (Measured). It never judges: its state is the next
// measurement of each record and the results not recorded yet, in memory;
// a restarted operator plans the next measurements again from the records
// in status, so the count goes on.
type Scheduler struct {
	// Rollouts takes the measurements under the manager's context (they
	// outlive the reconcile that planned them) and wakes a rollout when
	// one of its results is there to record.
	*wake.Rollouts
	prometheus Prometheus
	webhook    Webhook
	secrets    notify.SecretReader
	clock      clock.WithDelayedExecution
	slots      chan struct{}
	measured   *prometheus.CounterVec

	mu       sync.Mutex
	rollouts map[types.NamespacedName]*rolloutMeasures
}

// rolloutMeasures is what the scheduler holds of one rollout.
type rolloutMeasures struct {
	next    map[Record]*next
	results []Result
	// rollout and vars are as of the last Schedule: what a measurement
	// about to be taken looks up its check in and fills its query with.
	rollout *v1alpha1.StatefulSetRollout
	vars    Vars
}

// next is the next measurement of a record: planned for at, then taken.
type next struct {
	at    time.Time
	timer clock.Timer
	// taken is set once the measurement due at `at` was started: a plan
	// that still asks for it (made before its result was recorded) does
	// not take it again.
	taken bool
}

// NewScheduler is a scheduler taking at most opts.Workers measurements at once.
func NewScheduler(opts Options) *Scheduler {
	s := &Scheduler{
		prometheus: Prometheus{Hosts: opts.AllowedHosts},
		webhook:    Webhook{Hosts: opts.AllowedHosts},
		secrets:    opts.Secrets,
		clock:      opts.Clock,
		slots:      make(chan struct{}, max(1, opts.Workers)),
		Rollouts:   wake.New(),
		rollouts:   map[types.NamespacedName]*rolloutMeasures{},
		measured: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sroll_analysis_measurements_total",
			Help: "Measurements of analysis checks taken, by check and result (the measurement's phase).",
		}, []string{"check", "result"}),
	}
	if s.clock == nil {
		s.clock = clock.RealClock{}
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(s.measured)
	}
	return s
}

// Schedule sets the rollout's next measurements to those of a plan whose
// status was written: each is taken at its time (now when past). A record
// the plan no longer measures (its analysis ended) has its measurement
// dropped; one already under way still reports, and its result finds no
// record.
func (s *Scheduler) Schedule(rollout *v1alpha1.StatefulSetRollout, vars Vars, due []plan.Measure) {
	key := types.NamespacedName{Namespace: rollout.Namespace, Name: rollout.Name}
	s.mu.Lock()
	defer s.mu.Unlock()
	rm, ok := s.rollouts[key]
	if !ok && len(due) == 0 {
		return
	}
	if !ok {
		rm = &rolloutMeasures{next: map[Record]*next{}}
		s.rollouts[key] = rm
	}
	rm.rollout, rm.vars = rollout.DeepCopy(), vars
	wanted := map[Record]bool{}
	for _, m := range due {
		rec := RecordOf(m)
		wanted[rec] = true
		if n, ok := rm.next[rec]; ok {
			if n.at.Equal(m.At) {
				continue
			}
			if n.timer != nil {
				n.timer.Stop()
			}
		}
		n := &next{at: m.At}
		rm.next[rec] = n
		if wait := m.At.Sub(s.clock.Now()); wait > 0 {
			n.timer = s.clock.AfterFunc(wait, func() { s.take(key, rec, n) })
		} else {
			go s.take(key, rec, n)
		}
	}
	for rec, n := range rm.next {
		if !wanted[rec] {
			if n.timer != nil {
				n.timer.Stop()
			}
			delete(rm.next, rec)
		}
	}
}

// take takes a measurement once a worker is free, keeps its result and
// announces the rollout.
func (s *Scheduler) take(key types.NamespacedName, rec Record, n *next) {
	s.mu.Lock()
	rm := s.rollouts[key]
	if rm == nil || rm.next[rec] != n || n.taken {
		s.mu.Unlock()
		return // replanned or forgotten meanwhile
	}
	n.taken = true
	ctx, rollout, vars := s.Context(), rm.rollout, rm.vars
	s.mu.Unlock()

	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	m := s.measure(ctx, rollout, vars, rec)
	<-s.slots
	s.measured.WithLabelValues(rec.Check, string(m.Phase)).Inc()
	log.FromContext(ctx).WithValues("StatefulSetRollout", key).Info("Measured a check",
		"check", rec.String(),
		"phase", m.Phase, "value", m.Value, "message", m.Message)

	s.mu.Lock()
	if rm := s.rollouts[key]; rm != nil {
		rm.results = append(rm.results, Result{Record: rec, Measurement: m})
	}
	s.mu.Unlock()
	s.Wake(ctx, rollout)
}

// measure takes one measurement of a check of the rollout.
func (s *Scheduler) measure(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, vars Vars, rec Record) v1alpha1.Measurement {
	now := s.clock.Now()
	check, ok := checkNamed(rollout.Spec.Rollout.Checks, rec.Check)
	secret := func(ref *v1alpha1.SecretKeyRef, what string) (string, error) {
		if ref == nil {
			return "", nil
		}
		value, err := s.secrets(ctx, rollout.Namespace, *ref)
		if err != nil {
			return "", fmt.Errorf("reading the %s of check %s: %w", what, rec.Check, err)
		}
		return value, nil
	}
	var err error
	switch {
	case !ok:
		err = fmt.Errorf("no check %s in spec.rollout.checks", rec.Check)
	case check.Prometheus != nil:
		var token string
		if token, err = secret(check.Prometheus.BearerTokenSecretRef, "bearer token"); err == nil {
			return s.prometheus.Measure(ctx, *check.Prometheus, vars, token, now)
		}
	case check.Webhook != nil:
		var key string
		if key, err = secret(check.Webhook.SigningKeySecretRef, "signing key"); err == nil {
			req := WebhookRequest{Check: rec.Check, Background: rec.Background, Step: rec.Step, Vars: vars}
			return s.webhook.Measure(ctx, *check.Webhook, req, key, now)
		}
	default:
		err = fmt.Errorf("check %s sets neither prometheus nor webhook", rec.Check)
	}
	return v1alpha1.Measurement{Phase: v1alpha1.MeasurementError, Message: err.Error(), At: metav1.NewTime(now)}
}

// Observe takes the results not recorded yet; a caller whose status write
// fails gives them back with Return.
func (s *Scheduler) Observe(key types.NamespacedName) []Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	rm := s.rollouts[key]
	if rm == nil {
		return nil
	}
	results := rm.results
	rm.results = nil
	return results
}

// Return gives back results a status write did not record.
func (s *Scheduler) Return(key types.NamespacedName, results []Result) {
	if len(results) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rm := s.rollouts[key]; rm != nil {
		rm.results = append(results, rm.results...)
	}
}

// Forget drops what is held of a deleted rollout.
func (s *Scheduler) Forget(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rm := s.rollouts[key]; rm != nil {
		for _, n := range rm.next {
			if n.timer != nil {
				n.timer.Stop()
			}
		}
	}
	delete(s.rollouts, key)
}

// checkNamed finds a check by name.
func checkNamed(checks []v1alpha1.Check, name string) (v1alpha1.Check, bool) {
	for _, c := range checks {
		if c.Name == name {
			return c, true
		}
	}
	return v1alpha1.Check{}, false
}

// String is a record as logs show it: "error-rate (step 3)".
func (r Record) String() string { return analysis.Name(r.Check, r.Background, r.Step) }
