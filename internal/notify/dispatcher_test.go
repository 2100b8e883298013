package notify_test

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/notify"
)

// A 200-pod, 4-step rollout is ~420 status writes. Slack gets one message,
// updated far fewer times than there are writes, two thread replies; the
// release system gets every event in order, signed.
func TestRolloutOf200Pods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.dispatcher()
	start(t, d)
	began := time.Now()
	r := newRollout(t, d, e.targets())
	r.pace = 300 * time.Microsecond
	r.all()
	eventually(t, "Slack shows the completed rollout, the release system has every event, the dispatcher knows", func() bool {
		messages := e.slack.Messages()
		return len(messages) == 1 && completedMessage(messages[0]) && len(messages[0].Replies) == 2 &&
			len(e.hook.Deliveries()) == len(wantEvents) && endRecorded(d)
	})
	elapsed := time.Since(began)

	message := e.slack.Messages()[0]
	if want := e.slack.ChannelID("#releases"); message.Channel != want {
		t.Errorf("message posted in %s, want %s", message.Channel, want)
	}
	for _, want := range []string{"4/4", "Revision `kv-r1` → `kv-r2`", "`registry/kv:1.0` → `registry/kv:2.0`", "test-cluster"} {
		if !strings.Contains(message.Blocks, want) {
			t.Errorf("final message lacks %q: %s", want, message.Blocks)
		}
	}
	if !strings.HasPrefix(message.Replies[0].Text, ":double_vertical_bar: *Paused* at step 2/4: waiting for promote") ||
		!strings.HasPrefix(message.Replies[1].Text, ":white_check_mark: *Completed*: 200/200 pods on `kv-r2`") {
		t.Errorf("thread replies = %+v, want Paused then Completed", message.Replies)
	}

	// Every chat.update takes a slot of the workspace's update limiter, one
	// per updateInterval, so however many writes there were, updates are
	// bounded by the time the rollout took.
	bound := int(elapsed/updateInterval) + 1
	if message.Updates < 1 || message.Updates > bound {
		t.Errorf("%d updates for %d writes in %s, want 1..%d", message.Updates, r.writes, elapsed, bound)
	}
	t.Logf("%d status writes in %s: 1 message, %d updates (bound %d), %d replies; coalesced %v; longest Notify %s",
		r.writes, elapsed.Round(time.Millisecond), message.Updates, bound, len(message.Replies),
		e.metric(t, "coalesced_total", "slack"), r.maxNotify)

	if got := e.events(); !reflect.DeepEqual(got, wantEvents) {
		t.Errorf("webhook events = %v, want %v", got, wantEvents)
	}
	for _, delivery := range e.hook.Deliveries() {
		if delivery.Duplicate || delivery.Payload.Rollout != "kv" || delivery.Payload.Revision != "kv-r2" || delivery.Payload.Cluster != "test-cluster" {
			t.Errorf("unexpected delivery %+v", delivery.Payload)
		}
	}
	if e.hook.Rejected() != 0 {
		t.Errorf("release system rejected %d requests (signature or token)", e.hook.Rejected())
	}

	for kind, want := range map[string]float64{"slack": float64(1 + message.Updates + 2), "webhook": float64(len(wantEvents))} {
		if got := e.metric(t, "sent_total", kind); got != want {
			t.Errorf("sent_total{kind=%s} = %v, want %v", kind, got, want)
		}
		if got := e.metric(t, "failed_total", kind) + e.metric(t, "dropped_total", kind); got != 0 {
			t.Errorf("failed or dropped %s notifications: %v", kind, got)
		}
	}
	if e.metric(t, "coalesced_total", "slack") < float64(r.writes/2) {
		t.Errorf("coalesced %v of %d states: the limiter should have merged most", e.metric(t, "coalesced_total", "slack"), r.writes)
	}

	select {
	case ev := <-d.Delivered():
		if ev.Object.Namespace != key.Namespace || ev.Object.Name != key.Name {
			t.Errorf("Delivered yielded %s/%s, want %s", ev.Object.Namespace, ev.Object.Name, key)
		}
	case <-time.After(time.Second):
		t.Error("Delivered yielded nothing after deliveries")
	}
	want := []v1alpha1.NotificationStatus{
		{Target: "release-system", Revision: "t2", FromRevision: "kv-r1", Delivered: v1alpha1.EventCompleted},
		{Target: "releases", Revision: "t2", FromRevision: "kv-r1", Delivered: v1alpha1.EventCompleted, SlackTS: message.TS, SlackChannel: message.Channel},
	}
	got := d.Record(key, nil)
	for i := range got {
		if got[i].DeliveredAt == nil || got[i].DeliveredAt.Nanosecond() != 0 {
			t.Errorf("%s: deliveredAt %v, want a time at second precision", got[i].Target, got[i].DeliveredAt)
		}
		if got[i].StartedAt == nil || !got[i].StartedAt.Equal(r.obj.Status.StartedAt) {
			t.Errorf("%s: startedAt %v, want the rollout's %v", got[i].Target, got[i].StartedAt, r.obj.Status.StartedAt)
		}
		got[i].DeliveredAt, got[i].StartedAt = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Record = %+v, want %+v", got, want)
	}
}

// During a Slack outage Notify stays instant, and once Slack is back the
// message is brought up to date and the thread gets what it missed.
func TestSlackOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.dispatcher()
	start(t, d)
	r := newRollout(t, d, e.targets())
	r.begin()
	r.updateTo(10)
	eventually(t, "the message is posted", func() bool { return len(e.slack.Messages()) == 1 })

	e.slack.FailFor(http.StatusInternalServerError, 300*time.Millisecond)
	r.updateTo(20)
	r.step(v1alpha1.PhasePaused, "waiting for promote")
	r.step(v1alpha1.PhaseProgressing, "promoted")
	r.updateTo(100)
	r.step(v1alpha1.PhaseProgressing, "updating step 4/4")
	r.updateTo(200)
	r.write(complete)

	eventually(t, "the message shows the completed rollout", func() bool {
		m := e.slack.Messages()
		return len(m) == 1 && completedMessage(m[0]) && len(m[0].Replies) == 2 && endRecorded(d)
	})
	failed := 0
	for _, call := range e.slack.Calls() {
		if call.Status == http.StatusInternalServerError {
			failed++
		}
	}
	if failed == 0 || e.metric(t, "failed_total", "slack") != float64(failed) {
		t.Errorf("%d calls failed, failed_total{kind=slack} = %v; want them equal and > 0", failed, e.metric(t, "failed_total", "slack"))
	}
	replies := e.slack.Messages()[0].Replies
	if !strings.Contains(replies[0].Text, "*Paused*") || !strings.Contains(replies[1].Text, "*Completed*") {
		t.Errorf("replies after the outage = %+v, want Paused then Completed", replies)
	}
	if got := e.events(); !reflect.DeepEqual(got, wantEvents) {
		t.Errorf("the Slack outage disturbed the webhook: %v", got)
	}
	t.Logf("%d calls failed during the outage; the message was updated %d times in all", failed, e.slack.Messages()[0].Updates)
}

// A 429 closes the channel for Retry-After: the next call waits for it.
func TestSlackRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.dispatcher()
	start(t, d)
	e.slack.RateLimitFor(time.Second, 100*time.Millisecond)
	r := newRollout(t, d, e.targets())
	r.begin()
	r.updateTo(5)
	eventually(t, "the message is posted", func() bool {
		m := e.slack.Messages()
		return len(m) == 1 && strings.Contains(m[0].Blocks, "5/200 updated")
	})
	calls := e.slack.Calls()
	if calls[0].Status != http.StatusTooManyRequests {
		t.Fatalf("first call answered %d, want 429", calls[0].Status)
	}
	if waited := calls[1].At.Sub(calls[0].At); waited < time.Second {
		t.Errorf("second call %s after the 429, want at least Retry-After (1s)", waited)
	}
	if got := e.metric(t, "failed_total", "slack"); got != 1 {
		t.Errorf("failed_total{kind=slack} = %v, want 1", got)
	}
}

// A restarted operator starts from status.notifications: it updates the
// message it posted before, and delivers the end of the rollout that the
// previous operator wrote to the status but did not get to tell, once.
func TestRestartRedeliversTheUnrecordedEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := e.dispatcher()
	stop := start(t, before)
	r := newRollout(t, before, e.targets())
	r.untilLastStep()
	eventually(t, "everything before the end is delivered", func() bool {
		m := e.slack.Messages()
		// Everything but StepCompleted/3 and Completed, which come with the last write.
		return len(m) == 1 && strings.Contains(m[0].Blocks, "200/200 updated") && len(e.hook.Deliveries()) == len(wantEvents)-2
	})
	r.write(func(*v1alpha1.StatefulSetRolloutStatus) {}) // records the deliveries
	stop()

	// The operator writes Completed, then dies before calling Notify.
	r.write(complete)
	// In the test the old dispatcher got that last Notify but is stopped.
	callsBefore, requestsBefore := len(e.slack.Calls()), len(e.hook.Requests())
	recorded := r.obj.Status.Notifications
	if len(recorded) != 2 || recorded[1].SlackTS == "" || recorded[0].Delivered != "" {
		t.Fatalf("recorded before the restart: %+v", recorded)
	}

	after := e.dispatcher()
	start(t, after)
	r.d = after
	for range 5 { // a few reconciles read the same status: no event between them
		r.write(func(*v1alpha1.StatefulSetRolloutStatus) {})
	}
	// StepCompleted/3 was lost with the operator: only terminal events are
	// delivered at least once.
	wantAfterRestart := []string{"Started/0", "StepCompleted/0", "Paused/1", "StepCompleted/1", "StepCompleted/2", "Completed/4"}
	eventually(t, "the end is delivered", func() bool {
		m := e.slack.Messages()
		return len(m) == 1 && completedMessage(m[0]) && len(m[0].Replies) == 2 &&
			len(e.hook.Deliveries()) == len(wantAfterRestart) && endRecorded(after)
	})
	time.Sleep(100 * time.Millisecond) // room for a duplicate to show up
	r.write(func(*v1alpha1.StatefulSetRolloutStatus) {})

	messages := e.slack.Messages()
	if len(messages) != 1 {
		t.Fatalf("%d messages after the restart, want the first one updated", len(messages))
	}
	var posts, updates int
	for _, call := range e.slack.Calls()[callsBefore:] {
		switch call.Method {
		case "chat.postMessage":
			posts++
		case "chat.update":
			updates++
		}
	}
	if posts != 1 || updates != 1 {
		t.Errorf("after the restart: %d posts and %d updates, want 1 reply and 1 update", posts, updates)
	}
	if got := e.events(); !reflect.DeepEqual(got, wantAfterRestart) {
		t.Errorf("webhook events = %v, want %v (Completed exactly once)", got, wantAfterRestart)
	}
	if n := len(e.hook.Requests()) - requestsBefore; n != 1 {
		t.Errorf("%d webhook requests after the restart, want 1", n)
	}
	for _, rec := range r.obj.Status.Notifications {
		if rec.Delivered != v1alpha1.EventCompleted || rec.Revision != "t2" || rec.FromRevision != "kv-r1" {
			t.Errorf("recorded after the restart: %+v, want Completed of t2, from kv-r1", rec)
		}
	}
	// Both of the status's revisions are kv-r2 now: the message and the
	// payload show the revision the rollout started from, as recorded.
	if m := messages[0].Blocks; !strings.Contains(m, "Revision `kv-r1` → `kv-r2`") ||
		!strings.Contains(m, "`registry/kv:1.0` → `registry/kv:2.0`") {
		t.Errorf("message after the restart does not show kv-r1 (1.0) → kv-r2 (2.0): %s", m)
	}
	deliveries := e.hook.Deliveries()
	if p := deliveries[len(deliveries)-1].Payload; p.Event != v1alpha1.EventCompleted || p.StableRevision != "kv-r1" || p.Revision != "kv-r2" ||
		!reflect.DeepEqual(p.Images, notify.PayloadImages{Old: []string{"registry/kv:1.0"}, New: []string{"registry/kv:2.0"}}) {
		t.Errorf("redelivered %s: revision %s from %s, images %v, want Completed of kv-r2 from kv-r1, 1.0 → 2.0", p.Event, p.Revision, p.StableRevision, p.Images)
	}

	// A third operator, after the status recorded the end, sends nothing.
	callsBefore, requestsBefore = len(e.slack.Calls()), len(e.hook.Requests())
	third := e.dispatcher()
	start(t, third)
	r.d = third
	for range 3 {
		r.write(func(*v1alpha1.StatefulSetRolloutStatus) {})
	}
	time.Sleep(100 * time.Millisecond)
	if n, m := len(e.slack.Calls())-callsBefore, len(e.hook.Requests())-requestsBefore; n != 0 || m != 0 {
		t.Errorf("a settled rollout cost %d Slack calls and %d webhook requests after a restart: %+v", n, m, e.slack.Calls()[callsBefore:])
	}
}

// A retry is a new attempt at the same template: it stays in the rollout's
// Slack message, but the record of the terminal event acknowledged starts
// over, so a retried attempt that fails again while the operator dies
// before telling anyone gets its Failed after the restart, once.
func TestRestartRedeliversTheRetriedAttemptsEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := e.dispatcher()
	stop := start(t, before)
	r := newRollout(t, before, e.targets())
	r.begin()
	r.updateTo(20)
	fail := func(s *v1alpha1.StatefulSetRolloutStatus) {
		s.Phase, s.Message = v1alpha1.PhaseDegraded, "pod kv-180 not ready"
	}
	r.write(fail)
	eventually(t, "the first Failed is acknowledged", func() bool {
		recorded := before.Record(key, nil)
		return len(recorded) == 2 && recorded[0].Delivered == v1alpha1.EventFailed && recorded[1].Delivered == v1alpha1.EventFailed
	})
	r.write(func(*v1alpha1.StatefulSetRolloutStatus) {}) // records it
	first := r.obj.Status.Notifications

	r.write(func(s *v1alpha1.StatefulSetRolloutStatus) { // the planner's retry
		started := metav1.NewTime(r.now)
		s.StartedAt, s.HandledActions = &started, map[string]string{v1alpha1.AnnotationRetry: "1"}
		s.Phase, s.Message = v1alpha1.PhaseProgressing, "retrying"
	})
	eventually(t, "the retry is announced and recorded", func() bool {
		recorded := before.Record(key, nil)
		return len(recorded) == 2 && recorded[1].SlackTS != "" && len(e.hook.Deliveries()) == 3 // Started, Failed, Started
	})
	r.write(func(*v1alpha1.StatefulSetRolloutStatus) {}) // records it
	stop()
	for i, rec := range r.obj.Status.Notifications {
		if rec.Delivered != "" || rec.StartedAt == nil || !rec.StartedAt.Equal(r.obj.Status.StartedAt) || rec.Retry != "1" ||
			rec.FromRevision != "kv-r1" || rec.SlackTS != first[i].SlackTS || rec.Revision != "t2" {
			t.Fatalf("recorded for the retry: %+v, want its start, nothing delivered yet, the first attempt's message (%+v)", rec, first[i])
		}
	}

	r.write(fail) // the retried attempt fails; the operator dies before Notify
	after := e.dispatcher()
	start(t, after)
	r.d = after
	for range 3 {
		r.write(func(*v1alpha1.StatefulSetRolloutStatus) {})
	}
	wantEvents := []string{"Started/0", "Failed/0", "Started/0", "Failed/0"}
	eventually(t, "the second Failed is delivered", func() bool {
		m := e.slack.Messages()
		return len(m) == 1 && len(m[0].Replies) == 2 && len(e.hook.Deliveries()) == len(wantEvents) &&
			slices.ContainsFunc(after.Record(key, nil), func(rec v1alpha1.NotificationStatus) bool { return rec.Delivered == v1alpha1.EventFailed })
	})
	eventually(t, "every target acknowledged it", func() bool {
		recorded := after.Record(key, nil)
		return len(recorded) == 2 && recorded[0].Delivered == v1alpha1.EventFailed && recorded[1].Delivered == v1alpha1.EventFailed
	})
	time.Sleep(100 * time.Millisecond) // room for a duplicate to show up
	if got := e.events(); !reflect.DeepEqual(got, wantEvents) {
		t.Errorf("webhook events = %v, want %v", got, wantEvents)
	}
	deliveries := e.hook.Deliveries()
	if deliveries[1].IdempotencyKey == deliveries[3].IdempotencyKey {
		t.Errorf("both attempts' Failed have idempotency key %s", deliveries[1].IdempotencyKey)
	}
	if m := e.slack.Messages(); len(m) != 1 || len(m[0].Replies) != 2 {
		t.Errorf("Slack: %d messages, want 1 with both Failed replies: %+v", len(m), m)
	}
	r.write(func(*v1alpha1.StatefulSetRolloutStatus) {})
	for _, rec := range r.obj.Status.Notifications {
		if rec.Delivered != v1alpha1.EventFailed || rec.Retry != "1" {
			t.Errorf("recorded after the restart: %+v, want the retry's Failed", rec)
		}
	}
}

// Retries resend the same bytes under the same signature and idempotency
// key, honour Retry-After, and give up on a request the receiver refuses.
func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.dispatcher()
	start(t, d)
	r := newRollout(t, d, e.webhookOnly())

	e.hook.FailNext(2, http.StatusServiceUnavailable, "")
	r.begin()
	eventually(t, "Started is delivered", func() bool { return len(e.hook.Deliveries()) == 1 })
	requests := e.hook.Requests()
	if len(requests) != 3 {
		t.Fatalf("%d requests, want 2 failures and a success", len(requests))
	}
	for _, req := range requests[1:] {
		if req.IdempotencyKey != requests[0].IdempotencyKey || req.Signature != requests[0].Signature || string(req.Body) != string(requests[0].Body) {
			t.Errorf("a retry changed the request: %+v vs %+v", req, requests[0])
		}
	}

	e.hook.FailNext(1, http.StatusTooManyRequests, "1")
	r.updateTo(20)
	r.step(v1alpha1.PhasePaused, "waiting for promote")
	eventually(t, "StepCompleted and Paused are delivered", func() bool { return len(e.hook.Deliveries()) == 3 })
	requests = e.hook.Requests()
	if waited := requests[4].At.Sub(requests[3].At); requests[3].Status != http.StatusTooManyRequests || waited < time.Second {
		t.Errorf("retried %s after a 429 with Retry-After: 1 (status %d), want at least 1s", waited, requests[3].Status)
	}

	e.hook.FailNext(1, http.StatusBadRequest, "")
	r.step(v1alpha1.PhaseProgressing, "promoted")
	r.updateTo(100)
	r.step(v1alpha1.PhaseProgressing, "updating step 4/4")
	eventually(t, "StepCompleted/2 is delivered", func() bool { return len(e.hook.Deliveries()) == 4 })
	if got, want := e.events()[3], "StepCompleted/2"; got != want {
		t.Errorf("after a refused request the next event is %s, want %s (StepCompleted/1 given up)", got, want)
	}
	if got := e.metric(t, "dropped_total", "webhook"); got != 1 {
		t.Errorf("dropped_total{kind=webhook} = %v, want 1", got)
	}
	if got := e.metric(t, "failed_total", "webhook"); got != 4 {
		t.Errorf("failed_total{kind=webhook} = %v, want 4", got)
	}
}

// Notify never waits for a worker: without any running, a flood of
// reports is absorbed by coalescing and bounded backlogs, and what is
// kept is the newest.
func TestNotifyIsBoundedWithoutWorkers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := notify.NewDispatcher(secrets, notify.Options{
		MaxPending: 8, AllowedHosts: localhost, Registerer: e.reg, PostInterval: postInterval, UpdateInterval: updateInterval, Log: testr.New(t),
	})
	r := newRollout(t, d, e.targets())
	r.begin()
	const steps = 2000
	r.obj.Spec.Rollout.Steps = make([]v1alpha1.RolloutStep, steps+1)
	for range steps {
		r.step(v1alpha1.PhaseProgressing, "")
	}
	// Webhook: Started and 2000 StepCompleted into a backlog of 8.
	if got, want := e.metric(t, "dropped_total", "webhook"), float64(steps+1-8); got != want {
		t.Errorf("dropped_total{kind=webhook} = %v, want %v", got, want)
	}
	// Slack: every state but the last was replaced.
	if got, want := e.metric(t, "coalesced_total", "slack"), float64(r.writes-1); got != want {
		t.Errorf("coalesced_total{kind=slack} = %v, want %v", got, want)
	}

	start(t, d)
	eventually(t, "the backlog is delivered", func() bool { return len(e.hook.Deliveries()) == 8 })
	if got := e.events()[0]; got != "StepCompleted/1992" {
		t.Errorf("oldest event kept = %s, want StepCompleted/1992", got)
	}
	eventually(t, "the message shows the last state", func() bool {
		m := e.slack.Messages()
		return len(m) == 1 && strings.Contains(m[0].Blocks, "2001/2001")
	})
}

// A recorded message that is gone (deleted, or a stale record) is replaced
// by a new one, and the record follows.
func TestRecordedMessageGone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.dispatcher()
	start(t, d)
	r := newRollout(t, d, e.targets()[:1])
	r.begin()
	eventually(t, "the first message is posted", func() bool { return len(e.slack.Messages()) == 1 })
	r.obj.Status.Notifications = []v1alpha1.NotificationStatus{
		{Target: "releases", Revision: "t2", SlackTS: "1700000000.000001", SlackChannel: e.slack.ChannelID("#releases")},
	}
	fresh := e.dispatcher()
	start(t, fresh)
	r.d = fresh
	r.updateTo(3)
	eventually(t, "a new message is posted", func() bool { return len(e.slack.Messages()) == 2 })
	eventually(t, "the record names the new message", func() bool {
		got := fresh.Record(key, nil)
		return len(got) == 1 && got[0].SlackTS == e.slack.Messages()[1].TS
	})
}

// Removing a target stops its notifications and its entry in the status.
func TestRemovedTarget(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.dispatcher()
	start(t, d)
	r := newRollout(t, d, e.targets())
	r.begin()
	eventually(t, "both targets are told", func() bool { return len(d.Record(key, nil)) == 2 })
	r.obj.Spec.Notifications = r.obj.Spec.Notifications[:1]
	r.write(func(*v1alpha1.StatefulSetRolloutStatus) {})
	if got := d.Record(key, nil); len(got) != 1 || got[0].Target != "releases" {
		t.Errorf("Record after removing the webhook = %+v, want the Slack entry only", got)
	}
	d.Forget(key)
	recorded := []v1alpha1.NotificationStatus{{Target: "x"}}
	if got := d.Record(key, recorded); !reflect.DeepEqual(got, recorded) {
		t.Errorf("Record of a forgotten rollout = %+v, want the recorded status unchanged", got)
	}
}

// A Slack target that needs a human (here a revoked token) costs one call
// per MaxBackoff, not one per reconcile, and recovers once fixed.
func TestSlackTargetNeedingAHuman(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.dispatcher() // MaxBackoff 50ms
	start(t, d)
	targets := e.targets()[:1]
	targets[0].Slack.TokenSecretRef.Name = "slack-revoked"
	r := newRollout(t, d, targets)
	r.begin()
	eventually(t, "Slack refuses the token", func() bool { return e.metric(t, "dropped_total", "slack") == 1 })
	for range 20 {
		r.write(func(s *v1alpha1.StatefulSetRolloutStatus) { s.ReadyReplicas-- })
	}
	if calls := e.slack.Calls(); len(calls) != 1 || calls[0].Error != "invalid_auth" {
		t.Errorf("calls within MaxBackoff of a refused token: %+v, want the one refused", calls)
	}
	e.slack.RequireToken("xoxb-revoked") // someone fixed it
	r.write(func(s *v1alpha1.StatefulSetRolloutStatus) { s.ReadyReplicas-- })
	eventually(t, "the message is posted", func() bool { return len(e.slack.Messages()) == 1 })
	if !strings.Contains(e.slack.Messages()[0].Blocks, "179 ready") {
		t.Errorf("the message does not show the latest state: %s", e.slack.Messages()[0].Blocks)
	}
}

// Notify does not wait for Slack: with the only worker stuck in a call that
// hangs, a whole rollout of reports goes through at once.
func TestNotifyDoesNotWaitForSlack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := notify.NewDispatcher(secrets, notify.Options{
		Workers: 1, AllowedHosts: localhost, PostInterval: postInterval, UpdateInterval: updateInterval, Registerer: e.reg, Log: testr.New(t),
	})
	start(t, d)
	const hang = 2 * time.Second
	e.slack.HangFor(hang)
	r := newRollout(t, d, e.targets()[:1])
	r.all()
	if r.maxNotify > hang/4 {
		t.Errorf("a Notify took %s while Slack hung for %s", r.maxNotify, hang)
	}
	eventually(t, "the message shows the completed rollout", func() bool {
		m := e.slack.Messages()
		return len(m) == 1 && completedMessage(m[0]) && len(m[0].Replies) == 2
	})
}
