package slacktest

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestServerSpeaksSlackGo(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.RequireToken("xoxb-1")
	api := slack.New("xoxb-1", slack.OptionAPIURL(s.URL()))

	if _, err := api.AuthTest(); err != nil {
		t.Fatalf("auth.test: %v", err)
	}
	channel, ts, err := api.PostMessage("#releases", slack.MsgOptionText("hello", false),
		slack.MsgOptionBlocks(slack.NewDividerBlock()))
	if err != nil || channel != s.ChannelID("#releases") || ts == "" {
		t.Fatalf("chat.postMessage = %q, %q, %v", channel, ts, err)
	}
	if _, _, err := api.PostMessage(channel, slack.MsgOptionTS(ts), slack.MsgOptionText("reply", false)); err != nil {
		t.Fatalf("thread reply: %v", err)
	}
	if _, _, _, err := api.UpdateMessage(channel, ts, slack.MsgOptionText("hello again", false)); err != nil {
		t.Fatalf("chat.update: %v", err)
	}
	messages := s.Messages()
	if len(messages) != 1 {
		t.Fatalf("%d messages, want 1", len(messages))
	}
	m := messages[0]
	if m.Text != "hello again" || m.Updates != 1 || len(m.Replies) != 1 || m.Replies[0].Text != "reply" {
		t.Errorf("message = %+v", m)
	}

	var slackErr slack.SlackErrorResponse
	if _, _, _, err := api.UpdateMessage("#releases", ts, slack.MsgOptionText("x", false)); !errors.As(err, &slackErr) || slackErr.Err != "message_not_found" {
		t.Errorf("chat.update by channel name = %v, want message_not_found (Slack wants the ID)", err)
	}
	if _, err := slack.New("xoxb-wrong", slack.OptionAPIURL(s.URL())).AuthTest(); !errors.As(err, &slackErr) || slackErr.Err != "invalid_auth" {
		t.Errorf("wrong token = %v, want invalid_auth", err)
	}
	if _, _, err := api.PostMessage(channel, slack.MsgOptionTS("1.000001"), slack.MsgOptionText("x", false)); !errors.As(err, &slackErr) || slackErr.Err != "thread_not_found" {
		t.Errorf("reply to no thread = %v, want thread_not_found", err)
	}
}

func TestServerFails(t *testing.T) {
	s := NewServer()
	defer s.Close()
	api := slack.New("xoxb-1", slack.OptionAPIURL(s.URL()))

	s.RateLimitFor(1500*time.Millisecond, time.Minute)
	var limited *slack.RateLimitedError
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false)); !errors.As(err, &limited) || limited.RetryAfter != 2*time.Second {
		t.Errorf("rate limited post = %v, want Retry-After 2s (rounded up to whole seconds)", err)
	}
	s.RateLimitFor(0, 0)

	s.FailFor(http.StatusServiceUnavailable, time.Minute)
	var status slack.StatusCodeError
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false)); !errors.As(err, &status) || status.Code != http.StatusServiceUnavailable {
		t.Errorf("post during an outage = %v, want 503", err)
	}
	s.FailFor(0, 0)

	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("post after the outage: %v", err)
	}
	var statuses []int
	for _, c := range s.Calls() {
		statuses = append(statuses, c.Status)
	}
	if want := []int{429, 503, 200}; len(statuses) != 3 || statuses[0] != want[0] || statuses[1] != want[1] || statuses[2] != want[2] {
		t.Errorf("calls answered %v, want %v", statuses, want)
	}
}

func TestServerAcceptsJSON(t *testing.T) {
	s := NewServer()
	defer s.Close()
	body := `{"channel":"#releases","text":"hi","blocks":[{"type":"divider"}]}`
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"chat.postMessage", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer xoxb-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m := s.Messages()
	if len(m) != 1 || m[0].Text != "hi" || m[0].Blocks != `[{"type":"divider"}]` {
		t.Errorf("messages = %+v, want the JSON post with its blocks", m)
	}
}
