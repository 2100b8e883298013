package webhooktest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/sroll-dev/sroll/internal/notify"
)

func post(t *testing.T, r *Receiver, body, key, signature, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.URL(), bytes.NewReader([]byte(body)))
	req.Header.Set(notify.HeaderIdempotencyKey, key)
	if signature != "" {
		req.Header.Set(notify.HeaderSignature, signature)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func signed(key, body string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestReceiver(t *testing.T) {
	r := NewReceiver("k", "tok")
	defer r.Close()
	body := `{"schemaVersion":"sroll.dev/v1","idempotencyKey":"abc","event":"Started"}`

	tests := []struct {
		name                 string
		body, key, sig, auth string
		want                 int
	}{
		{"valid", body, "abc", signed("k", body), "tok", http.StatusNoContent},
		{"redelivered", body, "abc", signed("k", body), "tok", http.StatusNoContent},
		{"signed with another key", body, "abc", signed("other", body), "tok", http.StatusUnauthorized},
		{"unsigned", body, "abc", "", "tok", http.StatusUnauthorized},
		{"wrong token", body, "abc", signed("k", body), "nope", http.StatusUnauthorized},
		{"key differs from the body's", body, "xyz", signed("k", body), "tok", http.StatusBadRequest},
		{"another schema", `{"schemaVersion":"v0"}`, "abc", signed("k", `{"schemaVersion":"v0"}`), "tok", http.StatusBadRequest},
	}
	for _, tt := range tests {
		if got := post(t, r, tt.body, tt.key, tt.sig, tt.auth); got != tt.want {
			t.Errorf("%s: answered %d, want %d", tt.name, got, tt.want)
		}
	}
	deliveries := r.Deliveries()
	if len(deliveries) != 2 || deliveries[0].Duplicate || !deliveries[1].Duplicate || deliveries[0].Payload.Event != "Started" {
		t.Errorf("deliveries = %+v, want the first and its duplicate", deliveries)
	}
	if r.Rejected() != 5 || len(r.Requests()) != 7 {
		t.Errorf("rejected %d of %d requests, want 5 of 7", r.Rejected(), len(r.Requests()))
	}

	r.FailNext(1, http.StatusTooManyRequests, "3")
	if got := post(t, r, body, "abc", signed("k", body), "tok"); got != http.StatusTooManyRequests {
		t.Errorf("failing on purpose answered %d, want 429", got)
	}
}
