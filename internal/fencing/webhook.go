// Package fencing asks a rollout's fencing webhook to confirm that a
// NotReady node is powered off or isolated. It is an effector: it reports
// the answer, and the replication decider decides what follows (only a
// confirmed node is tainted out of service). The call is made like a
// notification webhook's: the host must be in --allowed-hosts, the Secrets
// must be opted in, the body is signed.
package fencing

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/internal/notify"
)

// SchemaVersion is Request.SchemaVersion.
const SchemaVersion = "sroll.dev/fencing/v1"

// Request is the JSON body POSTed to the fencing webhook.
type Request struct {
	SchemaVersion string `json:"schemaVersion"`
	Cluster       string `json:"cluster,omitempty"`
	Namespace     string `json:"namespace"`
	Rollout       string `json:"rollout"`
	// Node is the node to power off or isolate.
	Node string `json:"node"`
	// Members are the rollout's pods on it.
	Members []string `json:"members"`
}

// Answer is what the webhook must reply, with a 2xx status, to confirm.
// Anything else (another status, fenced false, a body that is not this) is
// no confirmation.
type Answer struct {
	Fenced bool `json:"fenced"`
	// Message is shown in status.replication.fencing.
	Message string `json:"message,omitempty"`
}

// Webhook calls fencing webhooks.
type Webhook struct {
	Secrets notify.SecretReader
	Allowed egress.Hosts
	// Client makes the calls; its redirects are held to Allowed too.
	Client  *http.Client
	Cluster string
}

// NewWebhook is a Webhook whose calls are bounded by their context (the
// hook runner gives each the decider's timeout).
func NewWebhook(secrets notify.SecretReader, allowed egress.Hosts, cluster string) *Webhook {
	return &Webhook{Secrets: secrets, Allowed: allowed, Cluster: cluster, Client: allowed.Client(&http.Client{})}
}

// Fence asks the rollout's fencing webhook to fence node. fenced is true
// only on a confirmation; message says what the webhook answered, or why
// it was not asked.
func (w *Webhook) Fence(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, node string, members []string) (fenced bool, message string, err error) {
	spec := rollout.Spec.Replication
	if spec == nil || spec.Fencing == nil || spec.Fencing.Webhook == nil {
		return false, "", fmt.Errorf("spec.replication.fencing.webhook is not set")
	}
	endpoint := *spec.Fencing.Webhook
	if err := w.Allowed.Check(endpoint.URL); err != nil {
		return false, "", err
	}
	body, err := json.Marshal(Request{
		SchemaVersion: SchemaVersion, Cluster: w.Cluster, Namespace: rollout.Namespace, Rollout: rollout.Name,
		Node: node, Members: members,
	})
	if err != nil {
		return false, "", err
	}
	req, err := notify.NewSignedRequest(ctx, w.Secrets, rollout.Namespace, endpoint, body)
	if err != nil {
		return false, "", err
	}
	resp, err := w.Client.Do(req)
	if err != nil {
		return false, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return false, "", err
	}
	var answer Answer
	decodeErr := json.Unmarshal(raw, &answer)
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		why := strings.TrimSpace(answer.Message)
		if decodeErr != nil {
			why = strings.TrimSpace(string(raw))
		}
		return false, fmt.Sprintf("webhook answered %s: %s", resp.Status, why), nil
	}
	if decodeErr != nil {
		return false, fmt.Sprintf("webhook answered %s without {\"fenced\": true}", resp.Status), nil
	}
	if !answer.Fenced {
		return false, "webhook answered fenced false: " + answer.Message, nil
	}
	return true, answer.Message, nil
}
