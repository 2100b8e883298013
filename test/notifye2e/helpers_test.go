package notifye2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/internal/notify"
	"github.com/sroll-dev/sroll/internal/notify/slacktest"
	"github.com/sroll-dev/sroll/internal/notify/webhooktest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

const (
	slackToken = "xoxb-e2e-token"
	signingKey = "e2e-signing-key"
	bearer     = "e2e-bearer"

	// Target names in spec.notifications and status.notifications.
	slackTargetName = "releases"
	hookTargetName  = "release-system"

	// updateInterval is the notifier's spacing of chat.update calls per
	// workspace (Slack's Tier 3: 50 a minute); tolerance covers the time
	// between the limiter's reservation and the request's arrival.
	updateInterval = notify.DefaultUpdateInterval
	tolerance      = 400 * time.Millisecond
)

// env is one test's namespace, with a Slack workspace and a release system
// the operator of that namespace reports to.
type env struct {
	t     *testing.T
	c     client.Client
	ns    string
	slack *slacktest.Server
	hook  *webhooktest.Receiver
}

// newEnv starts Slack and the receiver on 127.0.0.1 and stores their
// credentials in Secrets of a new namespace, opted in to notifications.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, c: e2eutil.Setup(t), ns: clustertest.Namespace(t),
		slack: slacktest.NewServer(), hook: webhooktest.NewReceiver(signingKey, bearer)}
	t.Cleanup(e.slack.Close)
	t.Cleanup(e.hook.Close)
	e.slack.RequireToken(slackToken)
	for name, data := range map[string]map[string]string{
		"slack": {"token": slackToken},
		"hooks": {"signing-key": signingKey, "token": bearer},
	} {
		e.secret(name, data, true)
	}
	return e
}

// secret creates a Secret in the env's namespace, opted in to
// notifications or not.
func (e *env) secret(name string, data map[string]string, optedIn bool) *corev1.Secret {
	e.t.Helper()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: name}, StringData: data}
	if optedIn {
		secret.Labels = map[string]string{v1alpha1.LabelNotificationSecret: "true"}
	}
	if err := e.c.Create(context.Background(), secret); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// rollout returns a rollout of replicas pods on image v1 that reports to
// the env's Slack channel and webhook.
func (e *env) rollout(name string, replicas int32, maxUnavailable intstr.IntOrString, steps ...v1alpha1.RolloutStep) *v1alpha1.StatefulSetRollout {
	r := e2eutil.NewRollout(e.ns, name, replicas, maxUnavailable, steps...)
	r.Spec.Notifications = []v1alpha1.NotificationTarget{
		{Name: slackTargetName, Slack: &v1alpha1.SlackTarget{
			Channel: "#releases", APIURL: e.slack.URL(),
			TokenSecretRef: v1alpha1.SecretKeyRef{Name: "slack", Key: "token"},
		}},
		{Name: hookTargetName, Webhook: &v1alpha1.WebhookTarget{WebhookEndpoint: v1alpha1.WebhookEndpoint{
			URL:                  e.hook.URL(),
			SigningKeySecretRef:  &v1alpha1.SecretKeyRef{Name: "hooks", Key: "signing-key"},
			BearerTokenSecretRef: &v1alpha1.SecretKeyRef{Name: "hooks", Key: "token"},
		},
		}},
	}
	return r
}

// gateTargetName is a webhook asking for terminal events only, as a
// release gate would: it hears nothing before the end.
const gateTargetName = "release-gate"

// addGate adds a gate webhook to the rollout, served by a receiver of its own.
func (e *env) addGate(r *v1alpha1.StatefulSetRollout) *webhooktest.Receiver {
	gate := webhooktest.NewReceiver(signingKey, "")
	e.t.Cleanup(gate.Close)
	r.Spec.Notifications = append(r.Spec.Notifications, v1alpha1.NotificationTarget{Name: gateTargetName, Webhook: &v1alpha1.WebhookTarget{
		WebhookEndpoint: v1alpha1.WebhookEndpoint{URL: gate.URL(), SigningKeySecretRef: &v1alpha1.SecretKeyRef{Name: "hooks", Key: "signing-key"}},
		Events:          []v1alpha1.NotificationEvent{v1alpha1.EventCompleted, v1alpha1.EventFailed, v1alpha1.EventRolledBack},
	}})
	return gate
}

// create creates the rollout and waits until its v1 pods are all Ready:
// the starting point of every test, which announces nothing.
func (e *env) create(r *v1alpha1.StatefulSetRollout) {
	e.t.Helper()
	if err := e.c.Create(context.Background(), r); err != nil {
		e.t.Fatal(err)
	}
	e.waitCompleted(r, 3*time.Minute)
	if m, d := e.slack.Messages(), e.hook.Deliveries(); len(m) != 0 || len(d) != 0 {
		e.t.Fatalf("creating the StatefulSet announced something: %d Slack messages, %d webhook deliveries", len(m), len(d))
	}
}

func (e *env) eventually(timeout time.Duration, what string, check func() (bool, string)) {
	e.t.Helper()
	e2eutil.Eventually(e.t, timeout, what, check)
}

func (e *env) get(r *v1alpha1.StatefulSetRollout) *v1alpha1.StatefulSetRollout {
	e.t.Helper()
	return e2eutil.GetRollout(e.t, e.c, r)
}

func (e *env) waitCompleted(r *v1alpha1.StatefulSetRollout, timeout time.Duration) *v1alpha1.StatefulSetRollout {
	e.t.Helper()
	return e2eutil.WaitCompleted(e.t, e.c, r, timeout)
}

func (e *env) waitPhase(r *v1alpha1.StatefulSetRollout, phase v1alpha1.Phase, timeout time.Duration) *v1alpha1.StatefulSetRollout {
	e.t.Helper()
	return e2eutil.WaitPhase(e.t, e.c, r, phase, timeout)
}

func (e *env) setImage(r *v1alpha1.StatefulSetRollout, tag string) {
	e.t.Helper()
	e2eutil.SetImage(e.t, e.c, r, tag)
}

func (e *env) promote(r *v1alpha1.StatefulSetRollout) {
	e.t.Helper()
	e2eutil.Promote(e.t, e.c, r)
}

// recorded returns status.notifications' entry for a target.
func recorded(r *v1alpha1.StatefulSetRollout, target string) v1alpha1.NotificationStatus {
	for _, n := range r.Status.Notifications {
		if n.Target == target {
			return n
		}
	}
	return v1alpha1.NotificationStatus{}
}

// waitRecorded waits until status.notifications records, for every target,
// the rollout of the current template and what done asks.
func (e *env) waitRecorded(r *v1alpha1.StatefulSetRollout, timeout time.Duration, what string, done func(slack, hook v1alpha1.NotificationStatus) bool) *v1alpha1.StatefulSetRollout {
	e.t.Helper()
	return e2eutil.WaitRollout(e.t, e.c, r, timeout, "status.notifications: "+what, func(got *v1alpha1.StatefulSetRollout) bool {
		slack, hook := recorded(got, slackTargetName), recorded(got, hookTargetName)
		hash := got.Status.TemplateHash
		return slack.Revision == hash && hook.Revision == hash && done(slack, hook)
	})
}

// message is the one Slack message the test expects; it fails the test
// when there are more.
func (e *env) message() (slacktest.Message, bool) {
	e.t.Helper()
	messages := e.slack.Messages()
	if len(messages) > 1 {
		e.t.Fatalf("%d Slack messages, want one per rollout: %+v", len(messages), messages)
	}
	if len(messages) == 0 {
		return slacktest.Message{}, false
	}
	return messages[0], true
}

// replyKinds names the thread replies by their title, in order.
func replyKinds(m slacktest.Message) []string {
	titles := map[string]string{
		"*Paused*": "Paused", "*Completed*": "Completed", "*Failed*": "Failed",
		"*Rollback started*": "RollbackStarted", "*Aborted*": "RolledBack",
	}
	var kinds []string
	for _, reply := range m.Replies {
		kind := "?" + reply.Text
		for title, k := range titles {
			if strings.Contains(reply.Text, title) {
				kind = k
			}
		}
		kinds = append(kinds, kind)
	}
	return kinds
}

// messageCompleted reports whether the message's current state (its
// fallback text and its header) says the rollout completed.
func messageCompleted(m slacktest.Message) bool {
	return strings.Contains(m.Text, ": Completed,") && strings.Contains(m.Blocks, ":white_check_mark:")
}

// waitMessageSettled waits until the Slack message says Completed and the
// Completed reply is in its thread.
func (e *env) waitMessageSettled(timeout time.Duration) slacktest.Message {
	e.t.Helper()
	var m slacktest.Message
	e.eventually(timeout, "Slack message final", func() (bool, string) {
		var ok bool
		m, ok = e.message()
		return ok && messageCompleted(m) && slices.Contains(replyKinds(m), "Completed"),
			fmt.Sprintf("text=%q updates=%d replies=%v", m.Text, m.Updates, replyKinds(m))
	})
	return m
}

// events lists the accepted webhook deliveries as "Event(step)".
func events(deliveries []webhooktest.Delivery) []string {
	var out []string
	for _, d := range deliveries {
		out = append(out, fmt.Sprintf("%s(%d)", d.Payload.Event, d.Payload.Step.Index))
	}
	return out
}

// delivered waits until the receiver accepted an event.
func (e *env) waitDelivered(event v1alpha1.NotificationEvent, timeout time.Duration) {
	e.t.Helper()
	e.eventually(timeout, "webhook "+string(event), func() (bool, string) {
		deliveries := e.hook.Deliveries()
		return slices.ContainsFunc(deliveries, func(d webhooktest.Delivery) bool { return d.Payload.Event == event }),
			fmt.Sprint(events(deliveries))
	})
}

// requestEvent is the event a webhook request carried, refused or not.
func requestEvent(r webhooktest.Request) v1alpha1.NotificationEvent {
	var p notify.Payload
	_ = json.Unmarshal(r.Body, &p)
	return p.Event
}

// checkDeliveries checks what every receiver must be able to rely on: valid
// signatures and bearer tokens, and no idempotency key accepted twice.
func (e *env) checkDeliveries() {
	e.t.Helper()
	if n := e.hook.Rejected(); n > 0 {
		e.t.Errorf("the receiver rejected %d requests (bad signature, token or payload)", n)
	}
	seen := map[string]string{}
	for _, d := range e.hook.Deliveries() {
		if d.Signature == "" {
			e.t.Errorf("%s delivered without a signature", d.Payload.Event)
		}
		if d.Duplicate || seen[d.IdempotencyKey] != "" {
			e.t.Errorf("%s delivered again with the idempotency key of %s (%s)", d.Payload.Event, seen[d.IdempotencyKey], d.IdempotencyKey)
		}
		seen[d.IdempotencyKey] = string(d.Payload.Event)
		if d.Payload.Cluster != clusterName {
			e.t.Errorf("%s payload names cluster %q, want %q", d.Payload.Event, d.Payload.Cluster, clusterName)
		}
	}
}

// slackCalls counts the calls to a Slack method and those refused.
func (e *env) slackCalls(method string) (calls, refused int) {
	for _, c := range e.slack.Calls() {
		if c.Method == method {
			calls++
			if c.Status != 200 || c.Error != "" {
				refused++
			}
		}
	}
	return calls, refused
}

// checkUpdateSpacing checks that successful chat.update calls were at
// least the limiter's interval apart.
func (e *env) checkUpdateSpacing() {
	e.t.Helper()
	var last time.Time
	for _, c := range e.slack.Calls() {
		if c.Method != "chat.update" || c.Status != 200 {
			continue
		}
		if !last.IsZero() && c.At.Sub(last) < updateInterval-tolerance {
			e.t.Errorf("two chat.update calls %s apart, want at least %s", c.At.Sub(last).Round(time.Millisecond), updateInterval)
		}
		last = c.At
	}
}
