package notify

import (
	"sync"
	"time"
)

// Slack's published limits (https://docs.slack.dev/apis/web-api/rate-limits):
//   - chat.postMessage is a special tier: "generally allows posting one
//     message per second per channel", with short bursts tolerated but not
//     guaranteed, plus a workspace-wide limit.
//   - chat.update is Tier 3, "50+ per minute", counted per method per
//     workspace per app (https://docs.slack.dev/reference/methods/chat.update).
//
// The limiter spaces calls evenly instead of allowing bursts: a burst is
// exactly what gets a message dropped, and coalescing makes a burst useless
// anyway (only the latest state is worth sending).
const (
	DefaultPostInterval   = time.Second
	DefaultUpdateInterval = 60 * time.Second / 50
)

// limiter spaces calls sharing a key (a channel for posts, a workspace for
// updates) at least an interval apart. It never waits itself: it tells the
// caller how long to wait, so a worker can move on to another target.
type limiter struct {
	mu   sync.Mutex
	next map[string]time.Time // earliest time the key may be used again
}

func newLimiter() *limiter {
	return &limiter{next: map[string]time.Time{}}
}

// reserve takes the key's slot and returns 0 when a call may go now, or how
// long to wait (taking nothing) when it may not.
func (l *limiter) reserve(key string, interval time.Duration, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait := l.next[key].Sub(now); wait > 0 {
		return wait
	}
	l.next[key] = now.Add(interval)
	return 0
}

// holdUntil closes the key until t, for a 429's Retry-After.
func (l *limiter) holdUntil(key string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.next[key]) {
		l.next[key] = t
	}
}
