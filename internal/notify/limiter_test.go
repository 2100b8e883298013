package notify

import (
	"testing"
	"time"
)

func TestLimiterSpacesCallsPerKey(t *testing.T) {
	l := newLimiter()
	t0 := time.Unix(1000, 0)
	if wait := l.reserve("C1", time.Second, t0); wait != 0 {
		t.Fatalf("first call waits %s, want 0", wait)
	}
	if wait := l.reserve("C1", time.Second, t0.Add(300*time.Millisecond)); wait != 700*time.Millisecond {
		t.Errorf("second call 300ms later waits %s, want 700ms", wait)
	}
	if wait := l.reserve("C2", time.Second, t0.Add(300*time.Millisecond)); wait != 0 {
		t.Errorf("another channel waits %s, want 0", wait)
	}
	// A refused call took nothing: the slot is still free at t0+1s.
	if wait := l.reserve("C1", time.Second, t0.Add(time.Second)); wait != 0 {
		t.Errorf("call at t0+1s waits %s, want 0", wait)
	}
}

func TestLimiterHoldsForRetryAfter(t *testing.T) {
	l := newLimiter()
	t0 := time.Unix(1000, 0)
	l.reserve("C1", time.Second, t0)
	l.holdUntil("C1", t0.Add(30*time.Second))
	if wait := l.reserve("C1", time.Second, t0.Add(10*time.Second)); wait != 20*time.Second {
		t.Errorf("call during Retry-After waits %s, want 20s", wait)
	}
	// An earlier hold never shortens a longer one.
	l.holdUntil("C1", t0.Add(5*time.Second))
	if wait := l.reserve("C1", time.Second, t0.Add(10*time.Second)); wait != 20*time.Second {
		t.Errorf("after a shorter hold, call waits %s, want 20s", wait)
	}
}

func TestDefaultsFollowSlackLimits(t *testing.T) {
	if DefaultPostInterval < time.Second {
		t.Errorf("posts every %s: Slack allows about one per second per channel", DefaultPostInterval)
	}
	if perMinute := time.Minute / DefaultUpdateInterval; perMinute > 50 {
		t.Errorf("%d updates per minute: chat.update (Tier 3) allows about 50", perMinute)
	}
}
