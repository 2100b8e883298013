package e2eutil

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// Eventually polls check until it says done, or fails the test with what
// and the last state check reported.
func Eventually(t testing.TB, timeout time.Duration, what string, check func() (done bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		done, state := check()
		if done {
			return
		}
		last = state
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not done within %s; last state: %s", what, timeout, last)
}

// GetRollout reads the rollout afresh.
func GetRollout(t testing.TB, c client.Client, r *v1alpha1.StatefulSetRollout) *v1alpha1.StatefulSetRollout {
	t.Helper()
	got := &v1alpha1.StatefulSetRollout{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(r), got); err != nil {
		t.Fatal(err)
	}
	return got
}

// WaitRollout polls the rollout until done says so and returns it, or
// fails the test with what and the rollout's last status.
func WaitRollout(t testing.TB, c client.Client, r *v1alpha1.StatefulSetRollout, timeout time.Duration, what string, done func(*v1alpha1.StatefulSetRollout) bool) *v1alpha1.StatefulSetRollout {
	t.Helper()
	var got *v1alpha1.StatefulSetRollout
	Eventually(t, timeout, what, func() (bool, string) {
		got = GetRollout(t, c, r)
		return done(got), Describe(got)
	})
	return got
}

// WaitCompleted waits until every replica runs the update revision and is
// Ready (Completed).
func WaitCompleted(t testing.TB, c client.Client, r *v1alpha1.StatefulSetRollout, timeout time.Duration) *v1alpha1.StatefulSetRollout {
	t.Helper()
	return WaitRollout(t, c, r, timeout, "rollout completed", Completed)
}

// WaitPhase waits until the rollout observed its latest generation and is
// in phase.
func WaitPhase(t testing.TB, c client.Client, r *v1alpha1.StatefulSetRollout, phase v1alpha1.Phase, timeout time.Duration) *v1alpha1.StatefulSetRollout {
	t.Helper()
	return WaitRollout(t, c, r, timeout, "phase "+string(phase), func(got *v1alpha1.StatefulSetRollout) bool {
		return got.Status.ObservedGeneration == got.Generation && got.Status.Phase == phase
	})
}

// Completed reports whether the rollout observed its latest generation, is
// Completed, and every replica runs the update revision, now the stable
// one, and is Ready.
func Completed(r *v1alpha1.StatefulSetRollout) bool {
	s := r.Status
	return s.ObservedGeneration == r.Generation && s.Phase == v1alpha1.PhaseCompleted &&
		s.UpdatedReadyReplicas == *r.Spec.Replicas && s.UpdateRevision == s.StableRevision
}

// Describe is the rollout's status in one line, for failure messages.
func Describe(r *v1alpha1.StatefulSetRollout) string {
	s := r.Status
	out := fmt.Sprintf("phase=%s step=%d partition=%d updated=%d/%d ready=%d generation=%d observed=%d message=%q",
		s.Phase, s.CurrentStepIndex, s.Partition, s.UpdatedReadyReplicas, s.Replicas, s.ReadyReplicas, r.Generation, s.ObservedGeneration, s.Message)
	if len(s.Notifications) > 0 {
		out += fmt.Sprintf(" notifications=%+v", s.Notifications)
	}
	if rep := s.Replication; rep != nil {
		out += fmt.Sprintf(" replication=%s seed=%s replicationMessage=%q", rep.Phase, rep.Seed, rep.Message)
		for _, m := range rep.Members {
			out += fmt.Sprintf(" %s=%s/%s/failures=%d", m.Name, m.Role, m.State, m.Failures)
		}
	}
	return out
}

// WaitEvent waits until an Event (events.k8s.io) with reason regards obj
// and its note contains each of notes, and returns it.
func WaitEvent(t testing.TB, c client.Client, obj client.Object, reason string, timeout time.Duration, notes ...string) eventsv1.Event {
	t.Helper()
	var found eventsv1.Event
	Eventually(t, timeout, "event "+reason+" on "+obj.GetName(), func() (bool, string) {
		var list eventsv1.EventList
		if err := c.List(context.Background(), &list, client.InNamespace(obj.GetNamespace())); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range list.Items {
			if e.Regarding.UID != obj.GetUID() {
				continue
			}
			seen = append(seen, e.Reason+": "+e.Note)
			if e.Reason == reason && ContainsAll(e.Note, notes) {
				found = e
				return true, ""
			}
		}
		return false, fmt.Sprint(seen)
	})
	return found
}

// ContainsAll reports whether s contains every one of parts.
func ContainsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
