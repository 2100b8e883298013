package fencing_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/internal/fencing"
	"github.com/sroll-dev/sroll/internal/notify"
)

// Only a 2xx answer with {"fenced": true} confirms; the body is signed,
// the token sent, the host checked before any Secret is read.
func TestFenceConfirmsOnlyOnFencedTrue(t *testing.T) {
	var status int
	var answer string
	var got struct {
		signature, auth string
		req             fencing.Request
	}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.signature, got.auth = r.Header.Get(notify.HeaderSignature), r.Header.Get("Authorization")
		_ = json.Unmarshal(body, &got.req)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	defer server.Close()
	secrets := func(_ context.Context, _ string, ref v1alpha1.SecretKeyRef) (string, error) {
		return ref.Key + "-value", nil
	}
	rollout := &v1alpha1.StatefulSetRollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kv"}}
	rollout.Spec.Replication = &v1alpha1.ReplicationSpec{Fencing: &v1alpha1.FencingSpec{Webhook: &v1alpha1.WebhookEndpoint{
		URL:                  server.URL,
		SigningKeySecretRef:  &v1alpha1.SecretKeyRef{Name: "fencing", Key: "key"},
		BearerTokenSecretRef: &v1alpha1.SecretKeyRef{Name: "fencing", Key: "token"},
	}}}
	w := fencing.NewWebhook(secrets, egress.MustParseHosts("127.0.0.1"), "prod")
	for _, tc := range []struct {
		status  int
		answer  string
		fenced  bool
		message string
	}{
		{200, `{"fenced": true, "message": "powered off"}`, true, "powered off"},
		{200, `{"fenced": false, "message": "still on"}`, false, "webhook answered fenced false: still on"},
		{200, `ok`, false, `webhook answered 200 OK without {"fenced": true}`},
		{409, `{"message": "no power controller"}`, false, "webhook answered 409 Conflict: no power controller"},
		{500, `boom`, false, "webhook answered 500 Internal Server Error: boom"},
	} {
		status, answer = tc.status, tc.answer
		fenced, message, err := w.Fence(context.Background(), rollout, "node-1", []string{"kv-0"})
		if err != nil || fenced != tc.fenced || message != tc.message {
			t.Errorf("%d %s: fenced %t %q %v, want %t %q", tc.status, tc.answer, fenced, message, err, tc.fenced, tc.message)
		}
	}
	if got.req.Node != "node-1" || got.req.Members[0] != "kv-0" || got.req.Cluster != "prod" || got.req.SchemaVersion != fencing.SchemaVersion {
		t.Errorf("request %+v", got.req)
	}
	if !strings.HasPrefix(got.signature, "sha256=") || got.auth != "Bearer token-value" {
		t.Errorf("signature %q, authorization %q", got.signature, got.auth)
	}

	outside := fencing.NewWebhook(func(context.Context, string, v1alpha1.SecretKeyRef) (string, error) {
		t.Fatal("read a Secret for a host that is not allowed")
		return "", nil
	}, egress.MustParseHosts("fencer.example"), "")
	_, _, err := outside.Fence(context.Background(), rollout, "node-1", nil)
	var notAllowed *egress.NotAllowedError
	if !errors.As(err, &notAllowed) {
		t.Errorf("a host outside --allowed-hosts: %v, want a NotAllowedError", err)
	}
}
