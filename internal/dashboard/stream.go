package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

const (
	// pushInterval is the least time between two views sent to one page:
	// the changes of a 1000-pod rollout arriving meanwhile are sent as one
	// view, at most 10 a second.
	pushInterval = 100 * time.Millisecond
	// keepalive keeps idle streams open through proxies and lets the
	// server notice pages that are gone.
	keepalive = 20 * time.Second
	// reconnectAfter is how long a page waits before reconnecting.
	reconnectAfter = time.Second
)

// hello is the first event of a stream: the session token the page's
// actions carry. It comes here rather than in the HTML so that a page
// reconnected to a restarted dashboard gets the new one.
type hello struct {
	Token string `json:"token"`
}

// stream sends view as Server-Sent Events: once at once, then after each
// change notice, skipping views equal to the last one sent.
func (s *server) stream(w http.ResponseWriter, r *http.Request, key Key, view func(context.Context) any) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	notices, unsubscribe := s.changes.subscribe(key)
	defer unsubscribe()
	ctx := r.Context()
	token, _ := json.Marshal(hello{Token: s.guard.token})
	fmt.Fprintf(w, "retry: %d\nevent: hello\ndata: %s\n\n", reconnectAfter.Milliseconds(), token)
	flusher.Flush()
	ping := time.NewTicker(keepalive)
	defer ping.Stop()
	var last []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			fmt.Fprint(w, ": keepalive\n\n")
			flusher.Flush()
			continue
		case <-notices:
		}
		data, err := json.Marshal(view(ctx))
		if err != nil {
			return
		}
		if !bytes.Equal(data, last) {
			fmt.Fprintf(w, "event: view\ndata: %s\n\n", data)
			flusher.Flush()
			last = data
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pushInterval):
		}
	}
}
