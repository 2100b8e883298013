package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Analysis is a set of checks measured every interval and judged by counts,
// as Argo Rollouts' AnalysisRun judges its metrics: a step analysis passes
// after count measurements within its limits; the background analysis runs
// until the rollout completes and can only fail it.
type Analysis struct {
	// Checks name entries of spec.rollout.checks; every one must pass.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	Checks []string `json:"checks"`

	// IntervalSeconds is the time between two measurements of a check.
	// +optional
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=1
	IntervalSeconds *int32 `json:"intervalSeconds,omitempty"`

	// Count is how many measurements of each check a step analysis takes
	// before it passes (unset: 1); 0 measures until the step is promoted. The
	// background analysis takes no count: it runs until the rollout completes.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Count *int32 `json:"count,omitempty"`

	// FailureLimit: more Failed measurements of a check than this fail the analysis.
	// +optional
	// +kubebuilder:validation:Minimum=0
	FailureLimit int32 `json:"failureLimit,omitempty"`

	// InconclusiveLimit: more Inconclusive or Error measurements of a check
	// (no answer: the service unreachable, an empty result) than this fail
	// the analysis. They are counted apart from failures, so a flaky
	// monitoring system is not taken for a bad release.
	// +optional
	// +kubebuilder:validation:Minimum=0
	InconclusiveLimit int32 `json:"inconclusiveLimit,omitempty"`
}

// Check is one measurement source, named for the analyses that use it.
// +kubebuilder:validation:XValidation:rule="has(self.prometheus) != has(self.webhook)",message="each check sets exactly one of prometheus or webhook"
type Check struct {
	// Name is what analyses call the check.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Prometheus measures a query's result against a condition.
	// +optional
	Prometheus *PrometheusCheck `json:"prometheus,omitempty"`

	// Webhook asks an HTTP endpoint: a 2xx answer with JSON {"pass": true} passes.
	// +optional
	Webhook *WebhookCheck `json:"webhook,omitempty"`
}

// PrometheusCheck is an instant query whose result a CEL condition judges.
type PrometheusCheck struct {
	// Address is the Prometheus HTTP API base URL, e.g. http://prometheus.monitoring:9090.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	Address string `json:"address"`

	// Query is a PromQL instant query, a Go template over .Rollout,
	// .Namespace, .StableRevision, .UpdateRevision and .Pods.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Query string `json:"query"`

	// SuccessCondition is a CEL expression over result (a number for a
	// scalar or a one-sample vector, else a list of numbers) that is true
	// when the measurement passes, e.g. `result < 0.5`. An empty result is
	// Inconclusive.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	SuccessCondition string `json:"successCondition"`

	// BearerTokenSecretRef is a key of a Secret in the rollout's namespace
	// labelled sroll.dev/notification-secret: "true" (the notification
	// targets' opt-in), sent as a bearer token.
	// +optional
	BearerTokenSecretRef *SecretKeyRef `json:"bearerTokenSecretRef,omitempty"`
}

// WebhookCheck is an HTTP endpoint that answers pass or fail.
type WebhookCheck struct {
	// URL receives a POST describing the rollout (measure.WebhookRequest),
	// signed as notification webhooks are.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	URL string `json:"url"`

	// SigningKeySecretRef is a key of a Secret in the rollout's namespace
	// labelled sroll.dev/notification-secret: "true"; the body's HMAC-SHA256
	// is sent in a header.
	// +optional
	SigningKeySecretRef *SecretKeyRef `json:"signingKeySecretRef,omitempty"`
}

// MeasurementPhase is what one measurement said.
// +kubebuilder:validation:Enum=Successful;Failed;Inconclusive;Error
type MeasurementPhase string

const (
	// MeasurementSuccessful: the condition held.
	MeasurementSuccessful MeasurementPhase = "Successful"
	// MeasurementFailed: the condition did not hold.
	MeasurementFailed MeasurementPhase = "Failed"
	// MeasurementInconclusive: an answer that can't be judged (an empty result).
	MeasurementInconclusive MeasurementPhase = "Inconclusive"
	// MeasurementError: no answer (unreachable, refused, a bad query or condition).
	MeasurementError MeasurementPhase = "Error"
)

// Measurement is one measurement of a check.
type Measurement struct {
	Phase MeasurementPhase `json:"phase"`
	// Value is the measured value as text ("0.73", "[0.1, 0.2]"); empty without one.
	// +optional
	Value string `json:"value,omitempty"`
	// Message says what went wrong for an Error or Inconclusive measurement.
	// +optional
	Message string `json:"message,omitempty"`
	// At is when the measurement was taken.
	At metav1.Time `json:"at"`
}

// CheckRecord is the record of one check of one analysis: counts since the
// analysis started and its last measurements. The planner creates it when
// the analysis starts and drops it when the analysis ends; the measurement
// effector appends to it. The counts survive the trimmed measurements, so
// a restarted operator continues the count.
type CheckRecord struct {
	// Check is the name in spec.rollout.checks.
	Check string `json:"check"`
	// Background is true for the record of spec.rollout.analysis.
	// +optional
	Background bool `json:"background,omitempty"`
	// Step is the index of the analysis step the record belongs to; unused
	// for the background analysis.
	// +optional
	Step int32 `json:"step"`
	// StartedAt is when the analysis started: the first measurement is due then.
	StartedAt metav1.Time `json:"startedAt"`

	// Count is the measurements that gave an answer (all but Error), the
	// count a step analysis waits for.
	// +optional
	Count int32 `json:"count"`
	// +optional
	Successful int32 `json:"successful"`
	// +optional
	Failed int32 `json:"failed"`
	// +optional
	Inconclusive int32 `json:"inconclusive"`
	// +optional
	Error int32 `json:"error"`

	// Measurements are the last few, oldest first.
	// +optional
	// +kubebuilder:validation:MaxItems=10
	Measurements []Measurement `json:"measurements,omitempty"`
}

// Consul ties a rollout's pods to their instances of a Consul service, as
// Slack's operator does: a pod leaves Consul (maintenance mode) before it
// is deleted, and with requireHealthy an updated pod serves only once its
// Consul checks pass.
type Consul struct {
	// Address is the HTTP API of the Consul agent the instances are
	// registered with (maintenance mode is an agent call), e.g.
	// http://consul.service:8500.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	Address string `json:"address"`
	// Service is the service the pods are instances of: an instance is a
	// pod's when its service ID or its address is the pod's name or IP.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Service string `json:"service"`
	// TokenSecretRef is an ACL token, a key of a Secret in the rollout's
	// namespace labelled sroll.dev/notification-secret: "true".
	// +optional
	TokenSecretRef *SecretKeyRef `json:"tokenSecretRef,omitempty"`
	// DrainSeconds is how long a pod's instance is in maintenance mode
	// before the pod is deleted; 0 deletes it once Consul took it out.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	DrainSeconds int32 `json:"drainSeconds,omitempty"`
	// RequireHealthy counts a pod on the update revision as available (for
	// the step and the disruption budget) only while its instance's Consul
	// checks pass.
	// +optional
	RequireHealthy bool `json:"requireHealthy,omitempty"`
}
