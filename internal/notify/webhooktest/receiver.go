// Package webhooktest is a release-system stand-in that receives sroll
// webhooks: it checks the bearer token and the signature on its own (not
// with sroll's code, so a test catches a wrong signature), and records the
// deliveries in order. Tests elsewhere, end-to-end included, use it.
package webhooktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/sroll-dev/sroll/internal/notify"
)

// Delivery is one accepted request.
type Delivery struct {
	Payload notify.Payload
	Body    []byte
	// IdempotencyKey and Signature are the request's headers.
	IdempotencyKey string
	Signature      string
	At             time.Time
	// Duplicate is set when the idempotency key was accepted before.
	Duplicate bool
}

// Receiver is a webhook endpoint. The zero value is not usable: use NewReceiver.
type Receiver struct {
	srv        *httptest.Server
	signingKey string
	bearer     string

	mu         sync.Mutex
	deliveries []Delivery
	seen       map[string]bool
	attempts   int
	rejected   int
	failNext   int
	failStatus int
	retryAfter string
}

// NewReceiver starts a receiver that requires a valid signature when
// signingKey is set and the bearer token when bearer is set. Close it when
// done.
func NewReceiver(signingKey, bearer string) *Receiver {
	r := &Receiver{signingKey: signingKey, bearer: bearer, seen: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// URL is the webhook URL to configure.
func (r *Receiver) URL() string { return r.srv.URL + "/hooks/sroll" }

// Close stops the receiver.
func (r *Receiver) Close() { r.srv.Close() }

// FailNext answers the next n requests with status (and Retry-After, if
// not empty) before looking at them.
func (r *Receiver) FailNext(n, status int, retryAfter string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failNext, r.failStatus, r.retryAfter = n, status, retryAfter
}

// Deliveries returns the accepted requests, in arrival order.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.deliveries...)
}

// Attempts counts every request, the ones failed on purpose and the
// rejected ones included.
func (r *Receiver) Attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

// Rejected counts requests refused for a bad signature, token or body.
func (r *Receiver) Rejected() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rejected
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.failNext > 0 {
		r.failNext--
		if r.retryAfter != "" {
			w.Header().Set("Retry-After", r.retryAfter)
		}
		http.Error(w, "failing on purpose", r.failStatus)
		return
	}
	reject := func(status int, why string) {
		r.rejected++
		http.Error(w, why, status)
	}
	if err != nil {
		reject(http.StatusBadRequest, "unreadable body")
		return
	}
	if r.bearer != "" && req.Header.Get("Authorization") != "Bearer "+r.bearer {
		reject(http.StatusUnauthorized, "bad bearer token")
		return
	}
	signature := req.Header.Get(notify.HeaderSignature)
	if r.signingKey != "" && !validSignature(r.signingKey, body, signature) {
		reject(http.StatusUnauthorized, "bad signature")
		return
	}
	var p notify.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.SchemaVersion != notify.SchemaVersion {
		reject(http.StatusBadRequest, "not a sroll.dev/v1 payload")
		return
	}
	key := req.Header.Get(notify.HeaderIdempotencyKey)
	if key == "" || key != p.IdempotencyKey {
		reject(http.StatusBadRequest, "idempotency key header missing or different from the body's")
		return
	}
	r.deliveries = append(r.deliveries, Delivery{
		Payload: p, Body: body, IdempotencyKey: key, Signature: signature, At: time.Now(), Duplicate: r.seen[key],
	})
	r.seen[key] = true
	w.WriteHeader(http.StatusNoContent)
}

// validSignature is what a receiver does: recompute and compare in
// constant time.
func validSignature(key string, body []byte, header string) bool {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	gotSum, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return hmac.Equal(gotSum, mac.Sum(nil))
}
