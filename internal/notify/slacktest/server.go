// Package slacktest is a local stand-in for the subset of the Slack Web API
// that sroll uses: auth.test, chat.postMessage (messages and thread replies)
// and chat.update. It records what a channel would show and can be told to
// fail, so tests elsewhere (end-to-end included) can assert on messages.
package slacktest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Message is a top-level message as the channel shows it now.
type Message struct {
	Channel string // channel ID
	TS      string
	Text    string
	Blocks  string // the Block Kit JSON of the last post or update
	Updates int    // successful chat.update calls
	Replies []Reply
}

// Reply is a message in a thread.
type Reply struct {
	TS   string
	Text string
}

// Call is one request, answered or refused.
type Call struct {
	Method  string
	Channel string
	At      time.Time
	Status  int    // HTTP status answered
	Error   string // Slack error ("ok": false), if any
	// Token is the token the call carried (Authorization or the form),
	// to check what a sender revealed.
	Token string
}

// Server is a fake Slack Web API. The zero value is not usable: use NewServer.
type Server struct {
	srv *httptest.Server

	mu         sync.Mutex
	token      string
	channels   map[string]string // name (without #) to ID
	messages   []*Message
	calls      []Call
	lastTS     int64
	failUntil  time.Time
	failStatus int
	limitUntil time.Time
	retryAfter time.Duration
	hangUntil  time.Time
}

// NewServer starts a server; Close it when done.
func NewServer() *Server {
	s := &Server{channels: map[string]string{}, lastTS: time.Now().UnixMicro()}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the API URL to configure (slack.OptionAPIURL, SlackTarget.APIURL).
func (s *Server) URL() string { return s.srv.URL + "/api/" }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// RequireToken makes every call without this token fail with invalid_auth.
// By default any non-empty token is accepted.
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// FailFor answers every call with the HTTP status for d, as during an outage.
func (s *Server) FailFor(status int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus, s.failUntil = status, time.Now().Add(d)
}

// RateLimitFor answers every call with 429 and Retry-After (whole seconds,
// at least 1, as Slack sends it) for d.
func (s *Server) RateLimitFor(retryAfter, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter, s.limitUntil = retryAfter, time.Now().Add(d)
}

// HangFor holds every request arriving within d until d has passed, as a
// stuck Slack would, then answers it normally.
func (s *Server) HangFor(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hangUntil = time.Now().Add(d)
}

// Messages returns every top-level message, in the order they were posted.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages))
	for _, m := range s.messages {
		c := *m
		c.Replies = append([]Reply(nil), m.Replies...)
		out = append(out, c)
	}
	return out
}

// Calls returns every request received, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// ChannelID is the ID the server gives a channel name ("#releases" or
// "releases"). A name in capitals starting with C is taken for an ID and
// returned as is.
func (s *Server) ChannelID(channel string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channelID(channel)
}

func (s *Server) channelID(channel string) string {
	name := strings.TrimPrefix(channel, "#")
	if strings.HasPrefix(name, "C") && strings.ToUpper(name) == name {
		return name
	}
	id, ok := s.channels[name]
	if !ok {
		id = fmt.Sprintf("C%08d", len(s.channels)+1)
		s.channels[name] = id
	}
	return id
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	params, err := readParams(r)
	s.mu.Lock()
	hang := time.Until(s.hangUntil)
	s.mu.Unlock()
	if hang > 0 {
		select {
		case <-time.After(hang):
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: method, Channel: params["channel"], At: time.Now(), Token: params["token"]}
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		call.Token = bearer
	}
	defer func() { s.calls = append(s.calls, call) }()

	switch {
	case call.At.Before(s.limitUntil):
		seconds := max(1, int((s.retryAfter+time.Second-1)/time.Second))
		w.Header().Set("Retry-After", strconv.Itoa(seconds))
		call.Status = http.StatusTooManyRequests
		http.Error(w, "rate limited", call.Status)
		return
	case call.At.Before(s.failUntil):
		call.Status = s.failStatus
		http.Error(w, "<html>outage</html>", call.Status)
		return
	}
	call.Status = http.StatusOK
	answer := func(fields map[string]any) {
		if e, ok := fields["error"].(string); ok {
			call.Error = e
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(fields)
	}
	token := call.Token
	switch {
	case err != nil:
		answer(map[string]any{"ok": false, "error": "invalid_form_data"})
	case token == "" || (s.token != "" && token != s.token):
		answer(map[string]any{"ok": false, "error": "invalid_auth"})
	case method == "auth.test":
		answer(map[string]any{"ok": true, "url": "https://sroll-test.slack.com/", "team": "sroll", "user": "sroll",
			"team_id": "T00000001", "user_id": "U00000001", "bot_id": "B00000001"})
	case method == "chat.postMessage":
		answer(s.post(params))
	case method == "chat.update":
		answer(s.update(params))
	default:
		answer(map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (s *Server) post(p map[string]string) map[string]any {
	if p["channel"] == "" {
		return map[string]any{"ok": false, "error": "channel_not_found"}
	}
	if p["text"] == "" && p["blocks"] == "" {
		return map[string]any{"ok": false, "error": "no_text"}
	}
	channel := s.channelID(p["channel"])
	ts := s.nextTS()
	if thread := p["thread_ts"]; thread != "" {
		parent := s.find(channel, thread)
		if parent == nil {
			return map[string]any{"ok": false, "error": "thread_not_found"}
		}
		parent.Replies = append(parent.Replies, Reply{TS: ts, Text: p["text"]})
	} else {
		s.messages = append(s.messages, &Message{Channel: channel, TS: ts, Text: p["text"], Blocks: p["blocks"]})
	}
	return map[string]any{"ok": true, "channel": channel, "ts": ts, "message": map[string]any{"text": p["text"], "ts": ts}}
}

func (s *Server) update(p map[string]string) map[string]any {
	// Like Slack, chat.update wants the channel ID, not a name.
	m := s.find(p["channel"], p["ts"])
	if m == nil {
		return map[string]any{"ok": false, "error": "message_not_found"}
	}
	m.Text, m.Blocks = p["text"], p["blocks"]
	m.Updates++
	return map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text}
}

func (s *Server) find(channel, ts string) *Message {
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// nextTS hands out Slack-style timestamps ("seconds.micros"), increasing.
func (s *Server) nextTS() string {
	s.lastTS = max(s.lastTS+1, time.Now().UnixMicro())
	return fmt.Sprintf("%d.%06d", s.lastTS/1e6, s.lastTS%1e6)
}

// readParams accepts what Slack accepts: a form, or a JSON object (whose
// nested values, such as blocks, are kept as JSON text).
func readParams(r *http.Request) (map[string]string, error) {
	params := map[string]string{}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "application/json" {
		var body map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return nil, err
		}
		for k, raw := range body {
			var text string
			if json.Unmarshal(raw, &text) == nil {
				params[k] = text
			} else {
				params[k] = string(raw)
			}
		}
		return params, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	for k := range r.Form {
		params[k] = r.Form.Get(k)
	}
	return params, nil
}
