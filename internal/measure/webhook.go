package measure

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/internal/notify"
)

// WebhookRequest is the JSON body a webhook check is sent (schema
// notify.SchemaVersion, like the notification webhooks'), signed in the
// notify.HeaderSignature header when the check has a signing key.
type WebhookRequest struct {
	SchemaVersion string `json:"schemaVersion"`
	// Check is the check's name in spec.rollout.checks.
	Check string `json:"check"`
	// Background is true for the background analysis; Step is the index of
	// the analysis step otherwise.
	Background bool  `json:"background,omitempty"`
	Step       int32 `json:"step"`
	Vars
	At time.Time `json:"at"`
}

// WebhookAnswer is what a webhook check answers, with a 2xx status.
type WebhookAnswer struct {
	// Pass is the verdict; an answer without one is an Error.
	Pass *bool `json:"pass"`
	// Message, optional, is recorded with the measurement.
	Message string `json:"message,omitempty"`
}

// maxAnswer bounds the answer read: a verdict is a few bytes.
const maxAnswer = 64 << 10

// Webhook measures webhook checks: {"pass": true} with a 2xx status is
// Successful, {"pass": false} Failed; any other status, an answer that is
// not such JSON, or no answer at all is an Error.
type Webhook struct {
	// Hosts bounds the URLs a check may call (--allowed-hosts).
	Hosts egress.Hosts
	// Client makes the requests; the host list is applied to its redirects.
	Client *http.Client
}

// Measure posts req to the check's URL, signed with signingKey when it is
// not empty.
func (w Webhook) Measure(ctx context.Context, check v1alpha1.WebhookCheck, req WebhookRequest, signingKey string, now time.Time) v1alpha1.Measurement {
	m := v1alpha1.Measurement{At: metav1.NewTime(now)}
	fail := func(format string, args ...any) v1alpha1.Measurement {
		m.Phase, m.Message = v1alpha1.MeasurementError, fmt.Sprintf(format, args...)
		return m
	}
	if err := w.Hosts.Check(check.URL); err != nil {
		return fail("webhook %s: %v", check.URL, err)
	}
	req.SchemaVersion, req.At = notify.SchemaVersion, now.UTC()
	body, err := json.Marshal(req)
	if err != nil {
		return fail("webhook request: %v", err)
	}
	post, err := http.NewRequestWithContext(ctx, http.MethodPost, check.URL, bytes.NewReader(body))
	if err != nil {
		return fail("webhook %s: %v", check.URL, err)
	}
	post.Header.Set("Content-Type", "application/json")
	post.Header.Set("User-Agent", "sroll")
	if signingKey != "" {
		post.Header.Set(notify.HeaderSignature, notify.Sign([]byte(signingKey), body))
	}
	resp, err := w.Hosts.Client(clientOr(w.Client)).Do(post)
	if err != nil {
		return fail("webhook %s: %v", check.URL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	text, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fail("webhook %s: reading the answer: %v", check.URL, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail("webhook %s answered %s", check.URL, resp.Status)
	}
	var answer WebhookAnswer
	if err := json.Unmarshal(text, &answer); err != nil || answer.Pass == nil {
		return fail(`webhook %s answered %s without a JSON {"pass": true|false}`, check.URL, resp.Status)
	}
	m.Message = answer.Message
	if *answer.Pass {
		m.Phase, m.Value = v1alpha1.MeasurementSuccessful, "pass"
	} else {
		m.Phase, m.Value = v1alpha1.MeasurementFailed, "fail"
	}
	return m
}

// clientOr is c, or the default client of a measurement.
func clientOr(c *http.Client) *http.Client {
	if c == nil {
		return &http.Client{Timeout: 30 * time.Second}
	}
	return c
}
