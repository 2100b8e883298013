package notifye2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/notify/webhooktest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// A 200-pod rollout in four steps (10%, a 5s pause, 50%, 100%) is one Slack
// message, updated in place no more often than the limiter allows, with the
// Paused and Completed replies in its thread; the release system receives
// every event once, in order, signed.
func TestRolloutNotifies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	startOperator(t, e.ns)
	r := e.rollout("kv", 200, intstr.FromString("25%"), e2eutil.Percent(10), e2eutil.Pause(5*time.Second), e2eutil.Percent(50), e2eutil.Percent(100))
	e.create(r)
	oldRevision := e.get(r).Status.UpdateRevision

	started := time.Now()
	e.setImage(r, "v2")
	done := e.waitCompleted(r, 4*time.Minute)
	duration := time.Since(started)
	e.waitMessageSettled(30 * time.Second)
	e.waitDelivered(v1alpha1.EventCompleted, 30*time.Second)
	final := e.waitRecorded(r, 30*time.Second, "Completed acknowledged by both targets", func(slack, hook v1alpha1.NotificationStatus) bool {
		return slack.Delivered == v1alpha1.EventCompleted && hook.Delivered == v1alpha1.EventCompleted
	})
	time.Sleep(3 * time.Second) // whatever is still on its way arrives
	m, _ := e.message()
	newRevision := done.Status.UpdateRevision

	// Slack: one message, its final state, its thread.
	if !messageCompleted(m) || !strings.Contains(m.Text, "on "+clusterName+":") || !strings.Contains(m.Text, "200/200 pods updated") {
		t.Errorf("message text = %q, want the completed rollout on cluster %s", m.Text, clusterName)
	}
	for _, want := range []string{
		fmt.Sprintf("`%s:v1` → `%s:v2`", e2eutil.Image, e2eutil.Image),
		fmt.Sprintf("Revision `%s` → `%s`", oldRevision, newRevision),
		"Step*\\n4/4",
	} {
		if !strings.Contains(m.Blocks, want) {
			t.Errorf("message blocks do not show %q:\n%s", want, m.Blocks)
		}
	}
	if got, want := replyKinds(m), []string{"Paused", "Completed"}; !slices.Equal(got, want) {
		t.Errorf("thread replies = %v, want %v", got, want)
	}
	// The limiter spaces chat.update calls updateInterval apart; coalescing
	// sends only the latest state. Updates go out from the post (at Started)
	// to the final state, which follows the Completed reply (at most a post
	// interval after completion) by at most an update interval: so at most
	// duration/updateInterval + 1, plus 2 for those two intervals.
	maxUpdates := int(duration/updateInterval) + 3
	if m.Updates < 3 || m.Updates > maxUpdates {
		t.Errorf("the message was updated %d times during a %s rollout, want 3 to %d", m.Updates, duration.Round(time.Second), maxUpdates)
	}
	e.checkUpdateSpacing()
	posts, refusedPosts := e.slackCalls("chat.postMessage")
	updates, refusedUpdates := e.slackCalls("chat.update")
	if refusedPosts+refusedUpdates > 0 || posts != 1+len(m.Replies) {
		t.Errorf("Slack calls: %d posts (%d refused), %d updates (%d refused); want one post per message and reply, none refused",
			posts, refusedPosts, updates, refusedUpdates)
	}
	if rec := recorded(final, slackTargetName); rec.SlackTS != m.TS || rec.SlackChannel != m.Channel {
		t.Errorf("status.notifications records Slack message %s/%s, want %s/%s", rec.SlackChannel, rec.SlackTS, m.Channel, m.TS)
	}

	// Webhook: every event once, in order, signed.
	deliveries := e.hook.Deliveries()
	want := []string{"Started(0)", "StepCompleted(0)", "Paused(1)", "StepCompleted(1)", "StepCompleted(2)", "StepCompleted(3)", "Completed(4)"}
	if got := events(deliveries); !slices.Equal(got, want) {
		t.Errorf("webhook events = %v, want %v", got, want)
	}
	e.checkDeliveries()
	for _, d := range deliveries {
		p := d.Payload
		if p.Revision != newRevision || p.StableRevision != oldRevision || p.TemplateHash != done.Status.TemplateHash ||
			!slices.Equal(p.Images.Old, []string{e2eutil.Image + ":v1"}) || !slices.Equal(p.Images.New, []string{e2eutil.Image + ":v2"}) ||
			p.Step.Total != 4 || p.Replicas.Desired != 200 {
			t.Errorf("%s payload: revision %s from %s, images %v → %v, step %+v, replicas %+v; want %s from %s, v1 → v2, 4 steps, 200 replicas",
				p.Event, p.Revision, p.StableRevision, p.Images.Old, p.Images.New, p.Step, p.Replicas, newRevision, oldRevision)
		}
		if p.Event == v1alpha1.EventCompleted && (p.Phase != v1alpha1.PhaseCompleted || p.Replicas.UpdatedReady != 200) {
			t.Errorf("Completed payload: phase %s, %d updated ready; want Completed, 200", p.Phase, p.Replicas.UpdatedReady)
		}
	}
	t.Logf("200 pods rolled out in %s; Slack: 1 message, %d updates (bound %d), %d replies; %d webhook deliveries",
		duration.Round(100*time.Millisecond), m.Updates, maxUpdates, len(m.Replies), len(deliveries))
}

// outage is how long Slack answers 500 in TestSlackOutage, as in issue 5.
const outage = 60 * time.Second

// Slack answers 500 for a minute from just after the rollout's message was
// posted: the rollout completes meanwhile, the webhook hears everything on
// time, and once Slack is back the message is brought up to date and the
// Completed reply posted, once.
func TestSlackOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	startOperator(t, e.ns)
	r := e.rollout("kv", 20, intstr.FromInt32(5), e2eutil.Percent(50), e2eutil.Percent(100))
	e.create(r)

	e.setImage(r, "v2")
	e.eventually(time.Minute, "message posted", func() (bool, string) {
		_, ok := e.message()
		return ok, "no message"
	})
	e.slack.FailFor(http.StatusInternalServerError, outage)
	outageEnd := time.Now().Add(outage)
	e.waitCompleted(r, outage)
	completedIn := time.Until(outageEnd)
	e.waitDelivered(v1alpha1.EventCompleted, time.Until(outageEnd))
	if time.Now().After(outageEnd) {
		t.Fatal("the webhook heard of the completion only after the Slack outage")
	}
	if m, _ := e.message(); messageCompleted(m) || len(m.Replies) > 0 {
		t.Fatalf("Slack was updated during its outage: %+v", m)
	}

	e.waitMessageSettled(time.Until(outageEnd) + 90*time.Second)
	late := time.Since(outageEnd)
	e.waitRecorded(r, 30*time.Second, "Completed acknowledged by Slack", func(slack, _ v1alpha1.NotificationStatus) bool {
		return slack.Delivered == v1alpha1.EventCompleted
	})
	time.Sleep(2 * time.Second)
	m, _ := e.message()
	if got := replyKinds(m); !slices.Equal(got, []string{"Completed"}) {
		t.Errorf("thread replies = %v, want one Completed", got)
	}
	// Backoff doubling from 1s: attempts 0, 1, 3, 7, 15 and 31s into the
	// outage, the next one after it.
	refused := 0
	for _, c := range e.slack.Calls() {
		if c.Status == http.StatusInternalServerError {
			refused++
		}
	}
	if refused == 0 || refused > 8 {
		t.Errorf("%d Slack calls refused during the outage, want 1 to 8 (exponential backoff)", refused)
	}
	if got, want := events(e.hook.Deliveries()), []string{"Started(0)", "StepCompleted(0)", "StepCompleted(1)", "Completed(2)"}; !slices.Equal(got, want) {
		t.Errorf("webhook events = %v, want %v", got, want)
	}
	e.checkDeliveries()
	t.Logf("rollout completed %s before the end of the %s outage; %d Slack calls refused; message up to date %s after Slack came back (%d updates)",
		completedIn.Round(100*time.Millisecond), outage, refused, late.Round(100*time.Millisecond), m.Updates)
}

// The operator is SIGKILLed after the rollout completed but before any
// target heard of it (all fail every call). Restarted with the targets
// back, it delivers Completed once: one webhook delivery with the key of
// the event, also to a gate webhook that asks for terminal events only and
// heard nothing before, and the same Slack message updated and replied
// to, not a second message. A second restart delivers nothing more.
func TestCompletedRedeliveredAfterKill(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	op := startOperator(t, e.ns)
	r := e.rollout("kv", 20, intstr.FromInt32(5), e2eutil.Percent(50), e2eutil.Pause(0), e2eutil.Percent(100))
	gate := e.addGate(r)
	e.create(r)

	e.setImage(r, "v2")
	e.waitPhase(r, v1alpha1.PhasePaused, 2*time.Minute)
	e.waitDelivered(v1alpha1.EventPaused, 30*time.Second)
	e.waitRecorded(r, 30*time.Second, "the Slack message, and the rollout for the gate", func(slack, _ v1alpha1.NotificationStatus) bool {
		return slack.SlackTS != "" && recorded(e.get(r), gateTargetName).Revision == slack.Revision
	})
	if n := len(gate.Requests()); n != 0 {
		t.Fatalf("the gate heard %d requests before the end, want none", n)
	}
	e.eventually(30*time.Second, "Paused reply", func() (bool, string) {
		m, _ := e.message()
		return slices.Contains(replyKinds(m), "Paused"), fmt.Sprint(replyKinds(m))
	})
	before, _ := e.message()

	// From now on neither target accepts anything.
	e.hook.FailNext(1<<30, http.StatusServiceUnavailable, "")
	gate.FailNext(1<<30, http.StatusServiceUnavailable, "")
	e.slack.FailFor(http.StatusInternalServerError, time.Hour)
	e.promote(r)
	e.waitCompleted(r, 2*time.Minute)
	e.eventually(30*time.Second, "failed attempts", func() (bool, string) {
		refused := 0
		for _, req := range e.hook.Requests() {
			if req.Status == http.StatusServiceUnavailable {
				refused++
			}
		}
		return refused > 0 && len(gate.Requests()) > 0, "no attempt at both webhooks yet"
	})
	killedAt := e.get(r)
	for _, n := range killedAt.Status.Notifications {
		if n.Delivered != "" {
			t.Fatalf("Completed was recorded as delivered while every target failed: %s", e2eutil.Describe(killedAt))
		}
	}
	op.Kill()

	e.hook.FailNext(0, 0, "")
	gate.FailNext(0, 0, "")
	e.slack.FailFor(0, 0)
	restarted := time.Now()
	op.Start(t)
	e.waitDelivered(v1alpha1.EventCompleted, time.Minute)
	m := e.waitMessageSettled(time.Minute)
	e.eventually(time.Minute, "Completed at the gate", func() (bool, string) {
		return len(gate.Deliveries()) > 0, "nothing delivered"
	})
	redelivered := time.Since(restarted)
	e.waitRecorded(r, 30*time.Second, "Completed acknowledged by every target", func(slack, hook v1alpha1.NotificationStatus) bool {
		gate := recorded(e.get(r), gateTargetName)
		return slack.Delivered == v1alpha1.EventCompleted && hook.Delivered == v1alpha1.EventCompleted && gate.Delivered == v1alpha1.EventCompleted
	})

	// Once recorded, a restart sends nothing more.
	op.Kill()
	op.Start(t)
	time.Sleep(5 * time.Second)

	m, _ = e.message()
	if m.TS != before.TS || m.Updates <= before.Updates {
		t.Errorf("Slack message %s updated %d times; want message %s updated after the restart (%d updates before)", m.TS, m.Updates, before.TS, before.Updates)
	}
	if got := replyKinds(m); !slices.Equal(got, []string{"Paused", "Completed"}) {
		t.Errorf("thread replies = %v, want Paused, Completed", got)
	}
	var completed []webhooktest.Delivery
	for _, d := range e.hook.Deliveries() {
		if d.Payload.Event == v1alpha1.EventCompleted {
			completed = append(completed, d)
		}
	}
	if len(completed) != 1 {
		t.Fatalf("%d Completed deliveries accepted, want exactly one", len(completed))
	}
	// Both of the status's revisions are the new one by now: the old ones
	// come from status.notifications, recorded before the kill.
	if p := completed[0].Payload; p.StableRevision == "" || p.StableRevision == p.Revision ||
		!slices.Equal(p.Images.Old, []string{e2eutil.Image + ":v1"}) || !slices.Equal(p.Images.New, []string{e2eutil.Image + ":v2"}) {
		t.Errorf("redelivered Completed: revision %s from %s, images %v → %v; want the revision it started from, v1 → v2",
			p.Revision, p.StableRevision, p.Images.Old, p.Images.New)
	}
	attempts := 0
	for _, req := range e.hook.Requests() {
		if requestEvent(req) == v1alpha1.EventCompleted {
			attempts++
			if req.IdempotencyKey != completed[0].IdempotencyKey {
				t.Errorf("Completed sent with idempotency keys %s and %s", req.IdempotencyKey, completed[0].IdempotencyKey)
			}
		}
	}
	e.checkDeliveries()
	gateDeliveries := gate.Deliveries()
	if got := events(gateDeliveries); !slices.Equal(got, []string{"Completed(3)"}) || gate.Rejected() > 0 {
		t.Errorf("gate events = %v (%d rejected), want Completed once", got, gate.Rejected())
	}
	gateAttempts := 0
	for _, req := range gate.Requests() {
		gateAttempts++
		if req.IdempotencyKey != completed[0].IdempotencyKey {
			t.Errorf("the gate got Completed with idempotency key %s, the release system with %s", req.IdempotencyKey, completed[0].IdempotencyKey)
		}
	}
	t.Logf("the gate: %d Completed attempts, 1 accepted", gateAttempts)
	t.Logf("Completed redelivered %s after the restart (%d attempts in all, 1 accepted); webhook events %v; Slack message updated %d times, replies %v",
		redelivered.Round(100*time.Millisecond), attempts, events(e.hook.Deliveries()), m.Updates, replyKinds(m))
}
