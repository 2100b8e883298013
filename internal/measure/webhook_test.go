package measure_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/internal/measure"
	"github.com/sroll-dev/sroll/internal/notify"
)

func TestWebhookMeasure(t *testing.T) {
	var signature string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		signature = r.Header.Get(notify.HeaderSignature)
		switch r.URL.Path {
		case "/pass":
			_, _ = w.Write([]byte(`{"pass": true}`))
		case "/fail":
			_, _ = w.Write([]byte(`{"pass": false, "message": "frozen"}`))
		case "/no-verdict":
			_, _ = w.Write([]byte(`{"ok": true}`))
		default:
			http.Error(w, "no", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := measure.Webhook{Hosts: egress.MustParseHosts("127.0.0.1")}
	for _, tc := range []struct {
		name, url      string
		phase          v1alpha1.MeasurementPhase
		value, message string
	}{
		{"pass", srv.URL + "/pass", v1alpha1.MeasurementSuccessful, "pass", ""},
		{"fail", srv.URL + "/fail", v1alpha1.MeasurementFailed, "fail", "frozen"},
		{"an answer without a verdict", srv.URL + "/no-verdict", v1alpha1.MeasurementError, "", `without a JSON {"pass": true|false}`},
		{"an error status", srv.URL + "/down", v1alpha1.MeasurementError, "", "answered 503 Service Unavailable"},
		{"host not allowed", "http://gate.example/", v1alpha1.MeasurementError, "", "is not in the operator's --allowed-hosts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := w.Measure(context.Background(), v1alpha1.WebhookCheck{URL: tc.url}, measure.WebhookRequest{Check: "gate"}, "key", now)
			if m.Phase != tc.phase || m.Value != tc.value || !strings.Contains(m.Message, tc.message) || !m.At.Time.Equal(now) {
				t.Fatalf("measured %+v; want phase %s, value %q, a message containing %q", m, tc.phase, tc.value, tc.message)
			}
		})
	}
	if !strings.HasPrefix(signature, "sha256=") {
		t.Errorf("signature header %q; want sha256=...", signature)
	}
}
