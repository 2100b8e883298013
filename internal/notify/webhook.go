package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// The webhook contract. Receivers match on these; changing one is a new
// schema version.
const (
	// SchemaVersion is Payload.SchemaVersion. Fields may be added within a
	// version; none is removed or changes meaning.
	SchemaVersion = "sroll.dev/v1"
	// HeaderSignature carries "sha256=" and the hex HMAC-SHA256 of the body
	// under the target's signing key, when it has one.
	HeaderSignature = "X-Sroll-Signature"
	// HeaderIdempotencyKey repeats Payload.IdempotencyKey.
	HeaderIdempotencyKey = "X-Sroll-Idempotency-Key"
	// HeaderEvent repeats Payload.Event, for routing without parsing.
	HeaderEvent = "X-Sroll-Event"
)

// Payload is the JSON body of a webhook delivery (schema sroll.dev/v1).
type Payload struct {
	SchemaVersion string `json:"schemaVersion"`
	// IdempotencyKey is the same for every delivery of one event of one
	// rollout: retries, and redeliveries after an operator restart.
	// Receivers drop a key they have already processed.
	IdempotencyKey string                     `json:"idempotencyKey"`
	Event          v1alpha1.NotificationEvent `json:"event"`
	Cluster        string                     `json:"cluster,omitempty"`
	Rollout        string                     `json:"rollout"`
	Namespace      string                     `json:"namespace"`
	UID            string                     `json:"uid"`
	// TemplateHash names the rollout: status.templateHash, the same from
	// Started to the terminal event.
	TemplateHash string `json:"templateHash"`
	// Revision is the StatefulSet revision being rolled out (also while it
	// is rolled back); StableRevision the one it replaces.
	Revision       string          `json:"revision"`
	StableRevision string          `json:"stableRevision,omitempty"`
	Images         PayloadImages   `json:"images"`
	Phase          v1alpha1.Phase  `json:"phase"`
	Step           PayloadStep     `json:"step"`
	Replicas       PayloadReplicas `json:"replicas"`
	// Reason is the rollout's status message when the event happened.
	Reason     string            `json:"reason,omitempty"`
	Timestamps PayloadTimestamps `json:"timestamps"`
	// Snapshot is the snapshot set of a SnapshotReady or SnapshotFailed
	// event; absent from every other event.
	Snapshot *PayloadSnapshot `json:"snapshot,omitempty"`
}

// PayloadSnapshot names a snapshot set (a RolloutSnapshot in the rollout's
// namespace) and what it captured.
type PayloadSnapshot struct {
	Name   string                  `json:"name"`
	Reason v1alpha1.SnapshotReason `json:"reason,omitempty"`
	// Revision is the StatefulSet revision the members ran when the set
	// was taken.
	Revision string `json:"revision,omitempty"`
	// Volumes is the number of VolumeSnapshots in the set.
	Volumes int32 `json:"volumes"`
	// VolumeGroupSnapshot names the set's group, when it is one.
	VolumeGroupSnapshot string `json:"volumeGroupSnapshot,omitempty"`
}

// PayloadImages are the container images, in container order.
type PayloadImages struct {
	Old []string `json:"old"`
	New []string `json:"new"`
}

// PayloadStep locates the event in spec.rollout.steps. Index is 0-based:
// the step that completed for StepCompleted, otherwise the step the rollout
// stands at (Total once every step is done).
type PayloadStep struct {
	Index int `json:"index"`
	Total int `json:"total"`
}

// PayloadReplicas are the pod counts when the event happened.
type PayloadReplicas struct {
	Desired      int32 `json:"desired"`
	Ready        int32 `json:"ready"`
	Updated      int32 `json:"updated"`
	UpdatedReady int32 `json:"updatedReady"`
}

// PayloadTimestamps are RFC 3339. ObservedAt is when sroll saw the event; a
// redelivery after a restart carries a later one than the first attempt
// would have.
type PayloadTimestamps struct {
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	ObservedAt time.Time  `json:"observedAt"`
}

// payloadJSON renders an event once, when it is queued.
func payloadJSON(s Report, e Event, cluster string) []byte {
	p := Payload{
		SchemaVersion:  SchemaVersion,
		IdempotencyKey: idempotencyKey(s, e),
		Event:          e.Type,
		Cluster:        cluster,
		Rollout:        s.Key.Name,
		Namespace:      s.Key.Namespace,
		UID:            string(s.UID),
		TemplateHash:   s.TemplateHash,
		Revision:       s.UpdateRevision,
		StableRevision: s.StableRevision,
		Images:         PayloadImages{Old: s.OldImages, New: s.NewImages},
		Phase:          s.Phase,
		Step:           PayloadStep{Index: e.Step, Total: s.Steps},
		Replicas:       PayloadReplicas{Desired: s.Replicas, Ready: s.Ready, Updated: s.Updated, UpdatedReady: s.UpdatedReady},
		Reason:         e.Reason,
		Timestamps:     PayloadTimestamps{ObservedAt: s.Now.UTC()},
		Snapshot:       e.Snapshot,
	}
	if !s.StartedAt.IsZero() {
		started := s.StartedAt.UTC()
		p.Timestamps.StartedAt = &started
	}
	body, err := json.Marshal(p)
	if err != nil {
		// Strings, numbers and times only: marshalling cannot fail.
		panic(err)
	}
	return body
}

// idempotencyKey derives the key from what names the event in the rollout's
// status, so a restarted operator derives the same one: the rollout's UID,
// the attempt (template hash, start at second precision as the status keeps
// it, retry request), the event and its step. A snapshot set's end is
// named by the set alone: two sets ending in one step are two events, and
// a set's end handed over after a restart, when the rollout may have
// moved on, keeps its key.
func idempotencyKey(s Report, e Event) string {
	if e.Snapshot != nil {
		sum := sha256.Sum256(fmt.Appendf(nil, "%s/snapshot/%s/%s", s.UID, e.Snapshot.Name, e.Type))
		return hex.EncodeToString(sum[:16])
	}
	var started int64
	if !s.StartedAt.IsZero() {
		started = s.StartedAt.Unix()
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d/%s/%s/%d", s.UID, s.TemplateHash, started, s.Retry, e.Type, e.Step))
	return hex.EncodeToString(sum[:16])
}

// Sign is the HeaderSignature value for a body under key: every signed
// webhook sroll calls (notifications, fencing, webhook checks) is signed by it.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// NewSignedRequest is a JSON POST of body to endpoint, signed with its
// signing key and carrying its bearer token, both read from the namespace's
// opted-in Secrets: the one way sroll calls a webhook. A Secret that cannot
// be read is a *SecretError.
func NewSignedRequest(ctx context.Context, secrets SecretReader, namespace string, endpoint v1alpha1.WebhookEndpoint, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sroll")
	if ref := endpoint.SigningKeySecretRef; ref != nil {
		key, err := secrets(ctx, namespace, *ref)
		if err != nil {
			return nil, &SecretError{What: "webhook signing key", Err: err}
		}
		req.Header.Set(HeaderSignature, Sign([]byte(key), body))
	}
	if ref := endpoint.BearerTokenSecretRef; ref != nil {
		token, err := secrets(ctx, namespace, *ref)
		if err != nil {
			return nil, &SecretError{What: "webhook bearer token", Err: err}
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}

// SecretError is a webhook Secret that could not be read.
type SecretError struct {
	What string
	Err  error
}

func (e *SecretError) Error() string { return fmt.Sprintf("reading %s: %v", e.What, e.Err) }
func (e *SecretError) Unwrap() error { return e.Err }

func isSecretError(err error) bool {
	var secretErr *SecretError
	return errors.As(err, &secretErr)
}

// sendWebhook delivers the head event. The body and therefore the signature
// and idempotency key are the same on every attempt.
func (d *Dispatcher) sendWebhook(ctx context.Context, j job) outcome {
	req, err := NewSignedRequest(ctx, d.secrets, j.key.Rollout.Namespace, j.target.Webhook.WebhookEndpoint, j.item.body)
	if err != nil {
		return outcome{err: err, permanent: !isSecretError(err)}
	}
	req.Header.Set(HeaderEvent, string(j.item.event.Type))
	req.Header.Set(HeaderIdempotencyKey, idempotencyKey(j.item.report, j.item.event))
	resp, err := d.opts.HTTPClient.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	// Drain a little so the connection can be reused; the answer is unused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		out := outcome{sent: true, done: true}
		if terminal(j.item.event.Type) {
			out.delivered = j.item.event.Type
		}
		return out
	case resp.StatusCode == http.StatusTooManyRequests:
		return outcome{err: fmt.Errorf("webhook answered %s", resp.Status), wait: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	default:
		return outcome{err: fmt.Errorf("webhook answered %s", resp.Status), permanent: !retryableStatus(resp.StatusCode)}
	}
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date; 0
// (use the backoff) when absent or unreadable.
func retryAfter(value string, now time.Time) time.Duration {
	if seconds, err := strconv.Atoi(value); err == nil && seconds > 0 {
		return time.Duration(seconds) * time.Second
	}
	if at, err := http.ParseTime(value); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
