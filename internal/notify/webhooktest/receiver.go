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

// Request is any request received, accepted or not.
type Request struct {
	IdempotencyKey string
	Signature      string
	// Authorization is the header as received, to check what a sender
	// revealed.
	Authorization string
	Body          []byte
	Status        int // answered
	At            time.Time
}

// Receiver is a webhook endpoint. The zero value is not usable: use NewReceiver.
type Receiver struct {
	srv        *httptest.Server
	signingKey string
	bearer     string

	mu         sync.Mutex
	deliveries []Delivery
	requests   []Request
	seen       map[string]bool
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

// Requests returns every request, the ones failed on purpose and the
// rejected ones included, in arrival order.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
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
	request := Request{
		IdempotencyKey: req.Header.Get(notify.HeaderIdempotencyKey),
		Signature:      req.Header.Get(notify.HeaderSignature),
		Authorization:  req.Header.Get("Authorization"),
		Body:           body,
		At:             time.Now(),
	}
	answer := func(status int, text string) {
		request.Status = status
		r.requests = append(r.requests, request)
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		http.Error(w, text, status)
	}
	if r.failNext > 0 {
		r.failNext--
		if r.retryAfter != "" {
			w.Header().Set("Retry-After", r.retryAfter)
		}
		answer(r.failStatus, "failing on purpose")
		return
	}
	reject := func(status int, why string) {
		r.rejected++
		answer(status, why)
	}
	if err != nil {
		reject(http.StatusBadRequest, "unreadable body")
		return
	}
	if r.bearer != "" && req.Header.Get("Authorization") != "Bearer "+r.bearer {
		reject(http.StatusUnauthorized, "bad bearer token")
		return
	}
	if r.signingKey != "" && !validSignature(r.signingKey, body, request.Signature) {
		reject(http.StatusUnauthorized, "bad signature")
		return
	}
	var p notify.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.SchemaVersion != notify.SchemaVersion {
		reject(http.StatusBadRequest, "not a sroll.dev/v1 payload")
		return
	}
	key := request.IdempotencyKey
	if key == "" || key != p.IdempotencyKey {
		reject(http.StatusBadRequest, "idempotency key header missing or different from the body's")
		return
	}
	r.deliveries = append(r.deliveries, Delivery{
		Payload: p, Body: body, IdempotencyKey: key, Signature: request.Signature, At: request.At, Duplicate: r.seen[key],
	})
	r.seen[key] = true
	answer(http.StatusNoContent, "")
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
