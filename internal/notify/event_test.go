package notify

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func TestEventsFor(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Hour))
	// status builds a status of the rollout of template "t2" (R1 → R2)
	// started at t1, then applies the changes.
	status := func(phase v1alpha1.Phase, step int32, changes ...func(*v1alpha1.StatefulSetRolloutStatus)) v1alpha1.StatefulSetRolloutStatus {
		s := v1alpha1.StatefulSetRolloutStatus{
			Phase: phase, CurrentStepIndex: step, Message: "msg",
			TemplateHash: "t2", StartedAt: &t1, StableRevision: "kv-r1", UpdateRevision: "kv-r2",
		}
		for _, change := range changes {
			change(&s)
		}
		return s
	}
	writingTemplate := func(s *v1alpha1.StatefulSetRolloutStatus) { s.UpdateRevision = "" }
	completed := func(s *v1alpha1.StatefulSetRolloutStatus) { s.StableRevision = "kv-r2" }
	rolledBack := func(reason string) func(*v1alpha1.StatefulSetRolloutStatus) {
		return func(s *v1alpha1.StatefulSetRolloutStatus) { s.UpdateRevision, s.RollbackReason = "kv-r1", reason }
	}
	rollingBack := func(s *v1alpha1.StatefulSetRolloutStatus) { s.RollbackReason = "Aborted" }
	previousTemplate := func(s *v1alpha1.StatefulSetRolloutStatus) {
		s.TemplateHash, s.StartedAt, s.StableRevision, s.UpdateRevision = "t1", &t0, "kv-r1", "kv-r1"
	}
	creating := func(s *v1alpha1.StatefulSetRolloutStatus) { s.StableRevision, s.UpdateRevision = "", "kv-r1" }
	retried := func(s *v1alpha1.StatefulSetRolloutStatus) {
		s.HandledActions = map[string]string{v1alpha1.AnnotationRetry: "1"}
	}
	// Delivered at second precision, as read back from the API server.
	readBack := func(s *v1alpha1.StatefulSetRolloutStatus) {
		at := metav1.NewTime(t1.Add(400 * time.Millisecond))
		s.StartedAt = &at
	}

	tests := []struct {
		name     string
		old, new v1alpha1.StatefulSetRolloutStatus
		want     []string
	}{
		{"new template is written: not announced yet",
			status(v1alpha1.PhaseCompleted, 4, previousTemplate), status(v1alpha1.PhaseProgressing, 0, writingTemplate),
			nil},
		{"StatefulSet reports the new revision: started",
			status(v1alpha1.PhaseProgressing, 0, writingTemplate), status(v1alpha1.PhaseProgressing, 0),
			[]string{"Started/0"}},
		{"new template and revision in one write: started",
			status(v1alpha1.PhaseCompleted, 4, previousTemplate), status(v1alpha1.PhaseProgressing, 0),
			[]string{"Started/0"}},
		{"first step is a pause: started, paused",
			status(v1alpha1.PhaseProgressing, 0, writingTemplate), status(v1alpha1.PhasePaused, 0),
			[]string{"Started/0", "Paused/0"}},
		{"pods move within a step: nothing",
			status(v1alpha1.PhaseProgressing, 0), status(v1alpha1.PhaseProgressing, 0),
			nil},
		{"same status read back with a truncated start time: nothing",
			status(v1alpha1.PhaseProgressing, 2), status(v1alpha1.PhaseProgressing, 2, readBack),
			nil},
		{"step 0 done, the next step is a pause",
			status(v1alpha1.PhaseProgressing, 0), status(v1alpha1.PhasePaused, 1),
			[]string{"StepCompleted/0", "Paused/1"}},
		{"two steps at once, then a pause",
			status(v1alpha1.PhaseProgressing, 0), status(v1alpha1.PhasePaused, 2),
			[]string{"StepCompleted/0", "StepCompleted/1", "Paused/2"}},
		{"promoted past a pause",
			status(v1alpha1.PhasePaused, 1), status(v1alpha1.PhaseProgressing, 2),
			[]string{"StepCompleted/1"}},
		{"last step done: completed",
			status(v1alpha1.PhaseProgressing, 3), status(v1alpha1.PhaseCompleted, 4, completed),
			[]string{"StepCompleted/3", "Completed/4"}},
		{"completed read again: nothing",
			status(v1alpha1.PhaseCompleted, 4, completed), status(v1alpha1.PhaseCompleted, 4, completed),
			nil},
		{"deadline missed: failed",
			status(v1alpha1.PhaseProgressing, 2), status(v1alpha1.PhaseDegraded, 2),
			[]string{"Failed/2"}},
		{"abort: rollback started",
			status(v1alpha1.PhaseProgressing, 2), status(v1alpha1.PhaseRollingBack, 2, rollingBack),
			[]string{"RollbackStarted/2"}},
		{"rolling back on the stable revision: nothing",
			status(v1alpha1.PhaseRollingBack, 2, rollingBack), status(v1alpha1.PhaseRollingBack, 2, rolledBack("Aborted")),
			nil},
		{"abort finished: rolled back",
			status(v1alpha1.PhaseRollingBack, 2, rolledBack("Aborted")), status(v1alpha1.PhaseAborted, 2, rolledBack("Aborted")),
			[]string{"RolledBack/2"}},
		{"deadline rollback finished: failed",
			status(v1alpha1.PhaseRollingBack, 2, rolledBack("ProgressDeadlineExceeded")),
			status(v1alpha1.PhaseDegraded, 2, rolledBack("ProgressDeadlineExceeded")),
			[]string{"Failed/2"}},
		{"retry of an aborted rollout: a new attempt, not announced until the new revision shows",
			status(v1alpha1.PhaseAborted, 2, rolledBack("Aborted")), status(v1alpha1.PhaseProgressing, 0, retried, func(s *v1alpha1.StatefulSetRolloutStatus) { s.UpdateRevision = "kv-r1" }),
			nil},
		{"retried attempt reaches the new revision: started again",
			status(v1alpha1.PhaseProgressing, 0, retried, func(s *v1alpha1.StatefulSetRolloutStatus) { s.UpdateRevision = "kv-r1" }),
			status(v1alpha1.PhaseProgressing, 0, retried),
			[]string{"Started/0"}},
		{"creating the StatefulSet: nothing",
			status(v1alpha1.PhaseProgressing, 0, creating), status(v1alpha1.PhaseProgressing, 1, creating),
			nil},
		{"creating the StatefulSet completes: nothing",
			status(v1alpha1.PhaseProgressing, 0, creating),
			status(v1alpha1.PhaseCompleted, 1, func(s *v1alpha1.StatefulSetRolloutStatus) { s.StableRevision, s.UpdateRevision = "kv-r1", "kv-r1" }),
			nil},
		{"spec.paused while a new template waits: nothing yet",
			status(v1alpha1.PhaseCompleted, 4, previousTemplate), status(v1alpha1.PhasePaused, 0, writingTemplate),
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range EventsFor(tt.old, tt.new) {
				got = append(got, fmt.Sprintf("%s/%d", e.Type, e.Step))
				if e.Reason != "msg" {
					t.Errorf("event %s has reason %q, want the status message", e.Type, e.Reason)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("EventsFor = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestImpliedTerminal(t *testing.T) {
	want := map[v1alpha1.Phase]v1alpha1.NotificationEvent{
		v1alpha1.PhaseProgressing: "",
		v1alpha1.PhasePaused:      "",
		v1alpha1.PhaseRollingBack: "",
		v1alpha1.PhaseCompleted:   v1alpha1.EventCompleted,
		v1alpha1.PhaseDegraded:    v1alpha1.EventFailed,
		v1alpha1.PhaseAborted:     v1alpha1.EventRolledBack,
	}
	for phase, event := range want {
		if got := impliedTerminal(phase); got != event {
			t.Errorf("impliedTerminal(%s) = %q, want %q", phase, got, event)
		}
	}
}
