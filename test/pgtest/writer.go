package pgtest

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"testing"
	"time"
)

// Table is where the Writer inserts its rows: one per number, n.
const Table = "sroll_rows"

// Writer inserts the numbers 1, 2, 3 … as rows of Table into whichever
// member is the primary, one transaction each, and keeps the numbers whose
// commit PostgreSQL acknowledged. An insert that fails (no primary, the
// connection lost mid-commit) is not acknowledged and is not retried: its
// row may or may not be there, and the next number is tried. Those rows
// are what a recovery must not lose.
type Writer struct {
	set    *Set
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	acked  []int64
	failed int
	// changed is closed, and replaced, at each acknowledgement.
	changed chan struct{}
}

// retry is how long the Writer waits before looking for a primary again
// when none answers, as a client's reconnect backoff.
const retry = 100 * time.Millisecond

// StartWriter starts writing until Stop, or the end of the test.
func (s *Set) StartWriter(t testing.TB) *Writer {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer{set: s, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
	go w.run(ctx)
	t.Cleanup(func() { w.Stop() })
	return w
}

func (w *Writer) run(ctx context.Context) {
	defer close(w.done)
	var db *sql.DB
	defer func() {
		if db != nil {
			_ = db.Close()
		}
	}()
	for n := int64(1); ctx.Err() == nil; {
		if db == nil {
			db = w.connect(ctx)
			if db == nil {
				select {
				case <-ctx.Done():
				case <-time.After(retry):
				}
				continue
			}
		}
		_, err := db.ExecContext(ctx, "INSERT INTO "+Table+" (n) VALUES ($1)", n)
		w.record(n, err == nil)
		n++
		if err != nil {
			_ = db.Close()
			db = nil
		}
	}
}

// connect opens the primary, creating Table there the first time.
func (w *Writer) connect(ctx context.Context) *sql.DB {
	primary, ok := w.set.Primary(ctx)
	if !ok {
		return nil
	}
	db, err := w.set.open(ctx, primary)
	if err != nil {
		return nil
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+Table+" (n bigint PRIMARY KEY)"); err != nil {
		_ = db.Close()
		return nil
	}
	return db
}

func (w *Writer) record(n int64, acked bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !acked {
		w.failed++
		return
	}
	w.acked = append(w.acked, n)
	close(w.changed)
	w.changed = make(chan struct{})
}

// Acked is the numbers acknowledged so far, in order.
func (w *Writer) Acked() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.acked)
}

// Failed counts the inserts that were not acknowledged.
func (w *Writer) Failed() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}

// WaitAcked waits until n more rows than now are acknowledged, or fails
// the test after timeout.
func (w *Writer) WaitAcked(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	w.mu.Lock()
	target := len(w.acked) + n
	w.mu.Unlock()
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		got, changed := len(w.acked), w.changed
		w.mu.Unlock()
		if got >= target {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("the writer had %d rows acknowledged after %s, want %d (%d inserts failed)", got, timeout, target, w.Failed())
		}
	}
}

// Stop stops writing and returns the acknowledged numbers.
func (w *Writer) Stop() []int64 {
	w.cancel()
	<-w.done
	return w.Acked()
}

// Rows are the numbers in Table on member, in order.
func (s *Set) Rows(t testing.TB, member string) []int64 {
	t.Helper()
	db, err := s.open(t.Context(), member)
	if err != nil {
		t.Fatalf("%s: %v", member, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), "SELECT n FROM "+Table+" ORDER BY n")
	if err != nil {
		t.Fatalf("%s: %v", member, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Missing is the acknowledged numbers that are not present.
func Missing(acked, present []int64) []int64 {
	have := map[int64]bool{}
	for _, n := range present {
		have[n] = true
	}
	var out []int64
	for _, n := range acked {
		if !have[n] {
			out = append(out, n)
		}
	}
	return out
}
