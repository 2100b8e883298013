package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// NotificationTarget is one place a rollout reports to: a Slack channel or a
// webhook. Secrets are referenced, never inlined.
// +kubebuilder:validation:XValidation:rule="has(self.slack) != has(self.webhook)",message="each notification target sets exactly one of slack or webhook"
type NotificationTarget struct {
	// Name identifies the target in status; unique within the rollout.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// +optional
	Slack *SlackTarget `json:"slack,omitempty"`
	// +optional
	Webhook *WebhookTarget `json:"webhook,omitempty"`
}

// SlackTarget posts one message per rollout and updates it in place.
type SlackTarget struct {
	// Channel ID or name, for example C0123456 or #releases.
	// +kubebuilder:validation:MinLength=1
	Channel string `json:"channel"`
	// TokenSecretRef names the Secret key holding the bot token (xoxb-...).
	TokenSecretRef SecretKeyRef `json:"tokenSecretRef"`
	// APIURL of the Slack Web API, for Slack-compatible proxies.
	// +optional
	// +kubebuilder:default="https://slack.com/api/"
	// +kubebuilder:validation:Pattern=`^https?://`
	APIURL string `json:"apiURL,omitempty"`
}

// WebhookTarget receives a signed JSON event for each notable rollout change.
type WebhookTarget struct {
	WebhookEndpoint `json:",inline"`
	// Events to send; empty sends all of them.
	// +optional
	Events []NotificationEvent `json:"events,omitempty"`
}

// WebhookEndpoint is a URL sroll POSTs a JSON body to, signed and
// authenticated with the referenced Secrets: a notification target's and
// the fencing webhook's. Its host must be in the operator's --allowed-hosts.
type WebhookEndpoint struct {
	// +kubebuilder:validation:Pattern=`^https?://`
	URL string `json:"url"`
	// SigningKeySecretRef names the HMAC-SHA256 key for the X-Sroll-Signature header.
	// +optional
	SigningKeySecretRef *SecretKeyRef `json:"signingKeySecretRef,omitempty"`
	// BearerTokenSecretRef names a token sent as Authorization: Bearer.
	// +optional
	BearerTokenSecretRef *SecretKeyRef `json:"bearerTokenSecretRef,omitempty"`
}

// SecretKeyRef points at one key of a Secret in the rollout's namespace.
// The operator uses the Secret only if it carries the label
// LabelNotificationSecret: "true", set by whoever owns it.
type SecretKeyRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}

// NotificationEvent is a kind of rollout event a target can be told about.
// +kubebuilder:validation:Enum=Started;StepCompleted;Paused;RollbackStarted;Completed;Failed;RolledBack;SnapshotReady;SnapshotFailed
type NotificationEvent string

const (
	EventStarted         NotificationEvent = "Started"
	EventStepCompleted   NotificationEvent = "StepCompleted"
	EventPaused          NotificationEvent = "Paused"
	EventRollbackStarted NotificationEvent = "RollbackStarted"
	EventCompleted       NotificationEvent = "Completed"
	EventFailed          NotificationEvent = "Failed"
	EventRolledBack      NotificationEvent = "RolledBack"
	// EventSnapshotReady and EventSnapshotFailed end one of the rollout's
	// snapshot sets (RolloutSnapshot), whatever took it: the rollout, its
	// schedule or a user.
	EventSnapshotReady  NotificationEvent = "SnapshotReady"
	EventSnapshotFailed NotificationEvent = "SnapshotFailed"
)

// NotificationStatus records what a target was last told, so terminal
// events survive an operator restart and are delivered at least once.
type NotificationStatus struct {
	Target string `json:"target"`
	// Revision names the rollout attempt the event belongs to: the
	// rollout's status.templateHash (stable through a rollback).
	// +optional
	Revision string `json:"revision,omitempty"`
	// StartedAt and Retry tell two attempts at one template apart: the
	// rollout's status.startedAt and the last retry request handled when
	// the target was told about the attempt. Delivered belongs to that
	// attempt; a retry starts over (same Slack message).
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// +optional
	Retry string `json:"retry,omitempty"`
	// FromRevision is the stable revision the attempt started from, to show
	// the old revision and images once the rollout completed (both of the
	// status's revisions are then the new one).
	// +optional
	FromRevision string `json:"fromRevision,omitempty"`
	// Delivered is the last terminal event the target acknowledged.
	// +optional
	Delivered NotificationEvent `json:"delivered,omitempty"`
	// +optional
	DeliveredAt *metav1.Time `json:"deliveredAt,omitempty"`
	// SlackTS is the timestamp of the rollout's Slack message, to update it after a restart.
	// +optional
	SlackTS string `json:"slackTS,omitempty"`
	// +optional
	SlackChannel string `json:"slackChannel,omitempty"`
	// Refused says why the operator does not send to this target at all;
	// empty while it may. Each attempt checks again, so fixing the cause
	// clears it with the next delivery.
	// +optional
	Refused NotificationRefusal `json:"refused,omitempty"`
	// Message says what Refused refers to and how to fix it.
	// +optional
	Message string `json:"message,omitempty"`
}

// NotificationRefusal is why the operator will not send to a target; a
// stable value, for alerts.
// +kubebuilder:validation:Enum=SecretNotOptedIn;HostNotAllowed
type NotificationRefusal string

const (
	// RefusedSecretNotOptedIn: a Secret the target names lacks the label
	// LabelNotificationSecret: "true". Only its owner can add it, so an
	// author who may create rollouts but not read Secrets can't make the
	// operator send one anywhere.
	RefusedSecretNotOptedIn NotificationRefusal = "SecretNotOptedIn"
	// RefusedHostNotAllowed: the target's URL (or a redirect) names a host
	// outside the operator's --allowed-hosts.
	RefusedHostNotAllowed NotificationRefusal = "HostNotAllowed"
)
