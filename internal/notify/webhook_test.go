package notify

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func TestIdempotencyKey(t *testing.T) {
	s := Report{UID: "uid-1", TemplateHash: "t2", StartedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	e := Event{Type: v1alpha1.EventStepCompleted, Step: 1}
	key := idempotencyKey(s, e)
	if len(key) != 32 {
		t.Errorf("key %q has %d characters, want 32", key, len(key))
	}

	readBack := s
	readBack.StartedAt = s.StartedAt.Add(700 * time.Millisecond) // before the status was read back
	moved := s
	moved.Now, moved.Phase, moved.Updated, moved.Message = s.Now.Add(time.Hour), v1alpha1.PhaseCompleted, 200, "other"
	for name, same := range map[string]Report{"start time with sub-second digits": readBack, "rollout moved on": moved} {
		if got := idempotencyKey(same, e); got != key {
			t.Errorf("%s: key changed to %q, want %q", name, got, key)
		}
	}

	differs := map[string]func(*Report, *Event){
		"another rollout object": func(s *Report, _ *Event) { s.UID = "uid-2" },
		"another template":       func(s *Report, _ *Event) { s.TemplateHash = "t3" },
		"the template reapplied": func(s *Report, _ *Event) { s.StartedAt = s.StartedAt.Add(time.Hour) },
		"a retry":                func(s *Report, _ *Event) { s.Retry = "1" },
		"another event":          func(_ *Report, e *Event) { e.Type = v1alpha1.EventPaused },
		"another step":           func(_ *Report, e *Event) { e.Step = 2 },
	}
	for name, change := range differs {
		s2, e2 := s, e
		change(&s2, &e2)
		if idempotencyKey(s2, e2) == key {
			t.Errorf("%s: same key %q", name, key)
		}
	}
}

func TestSign(t *testing.T) {
	// echo -n '{"a":1}' | openssl dgst -sha256 -hmac secret
	want := "sha256=aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494"
	if got := Sign([]byte("secret"), []byte(`{"a":1}`)); got != want {
		t.Errorf("sign = %q, want %q", got, want)
	}
}

func TestPayloadSchema(t *testing.T) {
	s := reportForRender()
	s.UID, s.TemplateHash, s.Phase = "uid-1", "t2", v1alpha1.PhaseCompleted
	body := payloadJSON(s, Event{Type: v1alpha1.EventCompleted, Step: 4, Reason: "every pod runs kv-r2"}, "prod-eu-1")
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"schemaVersion":  "sroll.dev/v1",
		"idempotencyKey": idempotencyKey(s, Event{Type: v1alpha1.EventCompleted, Step: 4}),
		"event":          "Completed",
		"cluster":        "prod-eu-1",
		"rollout":        "kv",
		"namespace":      "db",
		"uid":            "uid-1",
		"templateHash":   "t2",
		"revision":       "kv-r2",
		"stableRevision": "kv-r1",
		"images":         map[string]any{"old": []any{"kv:1.0", "sidecar:1"}, "new": []any{"kv:2.0", "sidecar:1"}},
		"phase":          "Completed",
		"step":           map[string]any{"index": 4.0, "total": 4.0},
		"replicas":       map[string]any{"desired": 200.0, "ready": 150.0, "updated": 100.0, "updatedReady": 50.0},
		"reason":         "every pod runs kv-r2",
		"timestamps":     map[string]any{"startedAt": "2026-03-01T10:00:00Z", "observedAt": "2026-03-01T10:12:30Z"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("payload =\n%v\nwant\n%v", got, want)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"3":    3 * time.Second,
		"":     0,
		"soon": 0,
		"-1":   0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	}
	for value, want := range tests {
		if got := retryAfter(value, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", value, got, want)
		}
	}
}
