package notify_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// A webhook that asks only for terminal events hears nothing until the
// end; the rollout is recorded for it as soon as it is announced, so a
// restart between the completion and its delivery still delivers it.
func TestRestartRedeliversTheEndToAFilteredWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	targets := e.targets()[1:]
	targets[0].Webhook.Events = []v1alpha1.NotificationEvent{v1alpha1.EventCompleted, v1alpha1.EventFailed}
	before := e.dispatcher()
	stop := start(t, before)
	r := newRollout(t, before, targets)
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
