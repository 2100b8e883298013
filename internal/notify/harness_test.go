package notify_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/internal/notify"
	"github.com/sroll-dev/sroll/internal/notify/slacktest"
	"github.com/sroll-dev/sroll/internal/notify/webhooktest"
)

const (
	slackToken = "xoxb-test"
	signingKey = "signing-key"
	bearer     = "bearer-token"

	// Test timing: the production values scaled down so a rollout takes
	// well under a second.
	postInterval   = 5 * time.Millisecond
	updateInterval = 10 * time.Millisecond
)

var key = types.NamespacedName{Namespace: "db", Name: "kv"}

// env is a Slack workspace and a release system.
type env struct {
	t     *testing.T
	slack *slacktest.Server
	hook  *webhooktest.Receiver
	reg   *prometheus.Registry
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, slack: slacktest.NewServer(), hook: webhooktest.NewReceiver(signingKey, bearer), reg: prometheus.NewRegistry()}
	e.slack.RequireToken(slackToken)
	t.Cleanup(e.slack.Close)
	t.Cleanup(e.hook.Close)
	return e
}

func (e *env) targets() []v1alpha1.NotificationTarget {
	return []v1alpha1.NotificationTarget{
		{Name: "releases", Slack: &v1alpha1.SlackTarget{
			Channel: "#releases", APIURL: e.slack.URL(),
			TokenSecretRef: v1alpha1.SecretKeyRef{Name: "slack", Key: "token"},
		}},
		{Name: "release-system", Webhook: &v1alpha1.WebhookTarget{WebhookEndpoint: v1alpha1.WebhookEndpoint{
			URL:                  e.hook.URL(),
			SigningKeySecretRef:  &v1alpha1.SecretKeyRef{Name: "hooks", Key: "signing-key"},
			BearerTokenSecretRef: &v1alpha1.SecretKeyRef{Name: "hooks", Key: "token"},
		},
		}},
	}
}

// webhookOnly is the release-system webhook of targets alone, asking for
// events (every event when none).
func (e *env) webhookOnly(events ...v1alpha1.NotificationEvent) []v1alpha1.NotificationTarget {
	hook := e.targets()[1]
	hook.Webhook.Events = events
	return []v1alpha1.NotificationTarget{hook}
}

// dispatcher returns a dispatcher with test timing, reporting to e.reg.
func (e *env) dispatcher() *notify.Dispatcher {
	return notify.NewDispatcher(secrets, notify.Options{
		Cluster:        "test-cluster",
		AllowedHosts:   localhost,
		PostInterval:   postInterval,
		UpdateInterval: updateInterval,
		InitialBackoff: 5 * time.Millisecond,
		MaxBackoff:     50 * time.Millisecond,
		MaxAttempts:    50,
		Registerer:     e.reg,
		Log:            testr.New(e.t),
	})
}

// localhost is where the test's Slack and receiver listen.
var localhost = egress.MustParseHosts("127.0.0.1")

func secrets(_ context.Context, namespace string, ref v1alpha1.SecretKeyRef) (string, error) {
	values := map[string]string{"slack/token": slackToken, "hooks/signing-key": signingKey, "hooks/token": bearer,
		"slack-revoked/token": "xoxb-revoked"}
	if v, ok := values[ref.Name+"/"+ref.Key]; ok && namespace == key.Namespace {
		return v, nil
	}
	return "", fmt.Errorf("secret %s/%s has no key %s", namespace, ref.Name, ref.Key)
}

// start runs d until the returned stop is called (or the test ends).
func start(t *testing.T, d *notify.Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Start(ctx); err != nil {
			t.Errorf("Start: %v", err)
		}
	}()
	stop = sync.OnceFunc(func() {
		cancel()
		<-done
	})
	t.Cleanup(stop)
	return stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metric reads a counter of the notify metrics for a target kind.
func (e *env) metric(t *testing.T, name, kind string) float64 {
	t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "sroll_notify_"+name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// events lists the accepted webhook deliveries as "Event/step".
func (e *env) events() []string {
	var out []string
	for _, d := range e.hook.Deliveries() {
		out = append(out, fmt.Sprintf("%s/%d", d.Payload.Event, d.Payload.Step.Index))
	}
	return out
}

// rollout stands in for the controller: it writes statuses the way the
// planner does and, after each write, records deliveries and notifies.
type rollout struct {
	t   *testing.T
	d   *notify.Dispatcher
	obj *v1alpha1.StatefulSetRollout
	now time.Time
	// pace is the time between two reconciles.
	pace      time.Duration
	inFlight  []string
	writes    int
	maxNotify time.Duration
}

// The rollout of the tests: 200 pods, 4 steps (10%, a pause waiting for a
// promote, 50%, 100%), 50 pods at a time (maxUnavailable 25%).
const (
	replicas  = 200
	batchSize = 50
)

func newRollout(t *testing.T, d *notify.Dispatcher, targets []v1alpha1.NotificationTarget) *rollout {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	started := metav1.NewTime(t0.Add(-24 * time.Hour))
	obj := &v1alpha1.StatefulSetRollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, UID: "uid-kv"},
		Spec: v1alpha1.StatefulSetRolloutSpec{
			Rollout: v1alpha1.RolloutStrategy{
				MaxUnavailable: ptr.To(intstr.FromString("25%")),
				Steps: []v1alpha1.RolloutStep{
					{Percent: ptr.To[int32](10)}, {Pause: &v1alpha1.PauseStep{}}, {Percent: ptr.To[int32](50)}, {Percent: ptr.To[int32](100)},
				},
			},
			Notifications: targets,
		},
		Status: v1alpha1.StatefulSetRolloutStatus{
			Phase: v1alpha1.PhaseCompleted, CurrentStepIndex: 4, TemplateHash: "t1", StartedAt: &started,
			StableRevision: "kv-r1", UpdateRevision: "kv-r1",
			Replicas: replicas, ReadyReplicas: replicas, UpdatedReplicas: replicas, UpdatedReadyReplicas: replicas,
		},
	}
	obj.Spec.Replicas = ptr.To[int32](replicas)
	obj.Spec.Template.Spec.Containers = []corev1.Container{{Name: "kv", Image: "registry/kv:2.0"}}
	return &rollout{t: t, d: d, obj: obj, now: t0}
}

// revisionImages are the container images of the StatefulSet's revisions.
var revisionImages = map[string][]string{"kv-r1": {"registry/kv:1.0"}, "kv-r2": {"registry/kv:2.0"}}

// write is one reconcile: merge deliveries into the status, write it, then
// notify (the controller's order).
func (r *rollout) write(change func(s *v1alpha1.StatefulSetRolloutStatus)) {
	old := *r.obj.Status.DeepCopy()
	change(&r.obj.Status)
	r.obj.Status.Notifications = r.d.Record(key, old.Notifications)
	r.now = r.now.Add(time.Second)
	s := notify.NewReport(r.obj, old, r.now)
	// The controller's images: the stable revision's, and the recorded
	// starting revision's.
	s.OldImages = revisionImages[r.obj.Status.StableRevision]
	s.FromImages = revisionImages[s.FromRevision]
	s.InFlight = slices.Clone(r.inFlight)
	began := time.Now()
	r.d.Notify(s)
	r.maxNotify = max(r.maxNotify, time.Since(began))
	r.writes++
	time.Sleep(r.pace)
}

// begin applies a new template: written first, then seen by the StatefulSet.
func (r *rollout) begin() {
	r.write(func(s *v1alpha1.StatefulSetRolloutStatus) {
		started := metav1.NewTime(r.now)
		s.TemplateHash, s.StartedAt, s.UpdateRevision = "t2", &started, ""
		s.Phase, s.CurrentStepIndex, s.UpdatedReplicas, s.UpdatedReadyReplicas = v1alpha1.PhaseProgressing, 0, 0, 0
		s.Message = "writing the new template to the StatefulSet"
	})
	r.write(func(s *v1alpha1.StatefulSetRolloutStatus) {
		s.UpdateRevision, s.Message = "kv-r2", "updating step 1/4"
	})
}

// updateTo replaces pods, highest ordinal first, in batches, until updated
// pods reach target: one write per deleted batch, per pod updated and per
// pod Ready.
func (r *rollout) updateTo(target int32) {
	for r.obj.Status.UpdatedReplicas < target {
		first := replicas - 1 - r.obj.Status.UpdatedReplicas
		size := min(batchSize, target-r.obj.Status.UpdatedReplicas)
		r.inFlight = nil
		for ordinal := first; ordinal > first-size; ordinal-- {
			r.inFlight = append(r.inFlight, fmt.Sprintf("kv-%d", ordinal))
		}
		r.write(func(s *v1alpha1.StatefulSetRolloutStatus) { s.ReadyReplicas -= size })
		for len(r.inFlight) > 0 {
			r.write(func(s *v1alpha1.StatefulSetRolloutStatus) { s.UpdatedReplicas++ })
			r.inFlight = r.inFlight[1:]
			r.write(func(s *v1alpha1.StatefulSetRolloutStatus) { s.UpdatedReadyReplicas++; s.ReadyReplicas++ })
		}
	}
}

func (r *rollout) step(phase v1alpha1.Phase, message string) {
	r.write(func(s *v1alpha1.StatefulSetRolloutStatus) {
		s.CurrentStepIndex++
		s.Phase, s.Message = phase, message
	})
}

// untilLastStep runs the rollout up to the last pod of the last step.
func (r *rollout) untilLastStep() {
	r.begin()
	r.updateTo(20)
	r.step(v1alpha1.PhasePaused, "waiting for promote")
	for range 5 {
		r.write(func(*v1alpha1.StatefulSetRolloutStatus) {}) // reconciles while paused
	}
	r.step(v1alpha1.PhaseProgressing, "promoted")
	r.updateTo(100)
	r.step(v1alpha1.PhaseProgressing, "updating step 4/4")
	r.updateTo(200)
}

// complete is the planner's last write of a rollout.
func complete(s *v1alpha1.StatefulSetRolloutStatus) {
	s.CurrentStepIndex++
	s.Phase, s.StableRevision, s.Message = v1alpha1.PhaseCompleted, s.UpdateRevision, "every pod runs "+s.UpdateRevision
}

func (r *rollout) all() {
	r.untilLastStep()
	r.write(complete)
}

// wantEvents are the webhook events of the whole rollout, in order.
var wantEvents = []string{
	"Started/0", "StepCompleted/0", "Paused/1", "StepCompleted/1", "StepCompleted/2", "StepCompleted/3", "Completed/4",
}

// endRecorded reports whether the dispatcher has every target's
// acknowledgement of Completed, the last thing it learns.
func endRecorded(d *notify.Dispatcher) bool {
	recorded := d.Record(key, nil)
	for _, rec := range recorded {
		if rec.Delivered != v1alpha1.EventCompleted {
			return false
		}
	}
	return len(recorded) > 0
}

// completedMessage reports whether a Slack message shows a rollout Completed.
func completedMessage(m slacktest.Message) bool {
	return strings.Contains(m.Blocks, `*Phase*\nCompleted`) && strings.Contains(m.Blocks, "200/200 updated")
}
