package notify_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// A webhook gets only the events it asks for.
func TestWebhookEventFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.dispatcher()
	start(t, d)
	r := newRollout(t, d, e.webhookOnly(v1alpha1.EventCompleted, v1alpha1.EventFailed))
	r.all()
	eventually(t, "Completed is delivered", func() bool { return len(e.hook.Deliveries()) == 1 })
	time.Sleep(50 * time.Millisecond)
	if got := e.events(); !reflect.DeepEqual(got, []string{"Completed/4"}) {
		t.Errorf("events = %v, want only Completed", got)
	}
}

// A webhook that asks only for terminal events hears nothing until the
// end; the rollout is recorded for it as soon as it is announced, so a
// restart between the completion and its delivery still delivers it.
func TestRestartRedeliversTheEndToAFilteredWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := e.dispatcher()
	stop := start(t, before)
	r := newRollout(t, before, e.webhookOnly(v1alpha1.EventCompleted, v1alpha1.EventFailed))
	r.untilLastStep()
	eventually(t, "the rollout is recorded for the webhook", func() bool {
		recorded := before.Record(key, nil)
		return len(recorded) == 1 && recorded[0].Revision == "t2"
	})
	r.write(func(*v1alpha1.StatefulSetRolloutStatus) {}) // records it
	stop()

	r.write(complete) // the operator dies before delivering Completed
	after := e.dispatcher()
	start(t, after)
	r.d = after
	for range 3 {
		r.write(func(*v1alpha1.StatefulSetRolloutStatus) {})
	}
	eventually(t, "Completed is delivered", func() bool { return len(e.hook.Deliveries()) == 1 })
	time.Sleep(50 * time.Millisecond)
	if got := e.events(); !reflect.DeepEqual(got, []string{"Completed/4"}) {
		t.Errorf("events = %v, want Completed once", got)
	}
}

// RollbackStarted is an event of the API: a webhook that asks for it, or
// for everything, gets it.
func TestWebhookGetsRollbackStarted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.dispatcher()
	start(t, d)
	r := newRollout(t, d, e.webhookOnly(v1alpha1.EventRollbackStarted, v1alpha1.EventRolledBack))
	r.begin()
	r.updateTo(20)
	r.write(func(s *v1alpha1.StatefulSetRolloutStatus) {
		s.Phase, s.RollbackReason, s.UpdateRevision = v1alpha1.PhaseRollingBack, "Aborted", s.StableRevision
		s.Message = "rolling back to kv-r1: aborted by request"
	})
	r.write(func(s *v1alpha1.StatefulSetRolloutStatus) {
		s.Phase, s.Message = v1alpha1.PhaseAborted, "rolled back to kv-r1: aborted by request"
	})
	eventually(t, "RolledBack is delivered", func() bool { return len(e.hook.Deliveries()) == 2 })
	if got := e.events(); !reflect.DeepEqual(got, []string{"RollbackStarted/0", "RolledBack/0"}) {
		t.Errorf("events = %v, want RollbackStarted, RolledBack", got)
	}
}
