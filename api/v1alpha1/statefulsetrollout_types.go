package v1alpha1

import (
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// StatefulSetRolloutSpec is a StatefulSet spec plus how to roll it out. sroll
// owns the StatefulSet's updateStrategy (it pins the partition), so setting it
// here is refused.
//
// +kubebuilder:validation:XValidation:rule="!has(self.updateStrategy) || (!has(self.updateStrategy.type) && !has(self.updateStrategy.rollingUpdate))",message="spec.updateStrategy is owned by sroll (it pins the partition); remove it and describe the rollout in spec.rollout"
// +kubebuilder:validation:XValidation:rule="!has(self.selector.matchLabels) || (has(self.template.metadata) && has(self.template.metadata.labels) && self.selector.matchLabels.all(k, k in self.template.metadata.labels && self.template.metadata.labels[k] == self.selector.matchLabels[k]))",message="spec.selector.matchLabels must all appear with the same values in spec.template.metadata.labels"
// +kubebuilder:validation:XValidation:rule="!has(self.ordinals) || !has(self.ordinals.start) || self.ordinals.start == 0",message="spec.ordinals.start other than 0 is not supported yet"
// +kubebuilder:validation:XValidation:rule="has(self.serviceName) == has(oldSelf.serviceName) && (!has(self.serviceName) || self.serviceName == oldSelf.serviceName)",message="spec.serviceName can't change: the StatefulSet API does not allow it; create a new rollout instead"
// +kubebuilder:validation:XValidation:rule="(has(self.podManagementPolicy) ? self.podManagementPolicy : 'Parallel') == (has(oldSelf.podManagementPolicy) ? oldSelf.podManagementPolicy : 'Parallel')",message="spec.podManagementPolicy can't change: the StatefulSet API does not allow it; create a new rollout instead"
// +kubebuilder:validation:XValidation:rule="!has(self.replication) || !has(self.replication.primaries) || self.replication.primaries <= (has(self.replicas) ? self.replicas : 1)",message="spec.replication.primaries must not exceed spec.replicas: lower primaries or add replicas"
// +kubebuilder:validation:XValidation:rule="!has(self.replication) || (has(self.replication.primaries) ? self.replication.primaries : 1) >= (has(self.replicas) ? self.replicas : 1) || has(self.replication.hooks.secondary)",message="spec.replication.hooks.secondary is required when replicas exceed primaries: it joins the members that are not primaries"
// +kubebuilder:validation:XValidation:rule="!has(self.replication) || (has(self.serviceName) && size(self.serviceName) > 0)",message="spec.serviceName is required with spec.replication: members reach each other at {pod}.{serviceName}.{namespace}.svc"
// +kubebuilder:validation:XValidation:rule="!has(self.snapshots) || (has(self.volumeClaimTemplates) && size(self.volumeClaimTemplates) > 0)",message="spec.snapshots needs spec.volumeClaimTemplates: snapshot sets capture the members' claims"
// +kubebuilder:validation:XValidation:rule="!has(self.snapshots) || !has(self.snapshots.freezeTimeoutSeconds) || (has(self.replication) && has(self.replication.hooks.freeze))",message="spec.snapshots.freezeTimeoutSeconds bounds the freeze of spec.replication.hooks.freeze: add the freeze and thaw hooks (they need spec.replication) or remove freezeTimeoutSeconds"
// +kubebuilder:validation:XValidation:rule="self.selector == oldSelf.selector",message="spec.selector can't change: the StatefulSet API does not allow it; create a new rollout instead"
// +kubebuilder:validation:XValidation:rule="(has(self.volumeClaimTemplates) ? size(self.volumeClaimTemplates) : 0) == (has(oldSelf.volumeClaimTemplates) ? size(oldSelf.volumeClaimTemplates) : 0) && (!has(self.volumeClaimTemplates) || self.volumeClaimTemplates.all(t, oldSelf.volumeClaimTemplates.exists(o, o.metadata.name == t.metadata.name && has(o.spec.accessModes) == has(t.spec.accessModes) && (!has(o.spec.accessModes) || o.spec.accessModes == t.spec.accessModes) && has(o.spec.storageClassName) == has(t.spec.storageClassName) && (!has(o.spec.storageClassName) || o.spec.storageClassName == t.spec.storageClassName) && has(o.spec.volumeMode) == has(t.spec.volumeMode) && (!has(o.spec.volumeMode) || o.spec.volumeMode == t.spec.volumeMode))))",message="spec.volumeClaimTemplates: only the storage request of an existing claim can change (sroll then expands each volume); adding, removing or renaming a claim, or changing its access modes, storage class or volume mode is not possible for a StatefulSet: create a new rollout for that"
// +kubebuilder:validation:XValidation:rule="!has(self.volumeClaimTemplates) || !has(oldSelf.volumeClaimTemplates) || self.volumeClaimTemplates.all(t, oldSelf.volumeClaimTemplates.all(o, o.metadata.name != t.metadata.name || !has(o.spec.resources) || !has(o.spec.resources.requests) || !('storage' in o.spec.resources.requests) || (has(t.spec.resources) && has(t.spec.resources.requests) && 'storage' in t.spec.resources.requests && quantity(string(t.spec.resources.requests['storage'])).compareTo(quantity(string(o.spec.resources.requests['storage']))) >= 0)))",message="spec.volumeClaimTemplates: a storage request can grow, not shrink (volumes can't be made smaller)"
type StatefulSetRolloutSpec struct {
	appsv1.StatefulSetSpec `json:",inline"`

	// Paused holds the rollout where it is: no partition change, no deletion.
	// +optional
	Paused bool `json:"paused,omitempty"`

	// Rollout says how a new template reaches the pods.
	// +optional
	// +kubebuilder:default={}
	Rollout RolloutStrategy `json:"rollout,omitempty"`

	// Notifications are told about the rollout as it moves.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Notifications []NotificationTarget `json:"notifications,omitempty"`

	// Replication runs the application's lifecycle hooks: bootstrap, rejoin,
	// lights-out recovery from the newest copy, clean stops before deletion.
	// +optional
	Replication *ReplicationSpec `json:"replication,omitempty"`

	// Snapshots takes snapshot sets of the members' volumes before a
	// rollout (see RolloutSnapshot).
	// +optional
	Snapshots *SnapshotSpec `json:"snapshots,omitempty"`
}

// RolloutStrategy is the disruption budget, the steps and the safety net of a rollout.
//
// +kubebuilder:validation:XValidation:rule="!has(self.steps) || self.steps.all(s, !has(s.analysis) || s.analysis.checks.all(c, has(self.checks) && self.checks.exists(k, k.name == c)))",message="an analysis step names a check that spec.rollout.checks does not define: add the check to spec.rollout.checks or fix the name"
// +kubebuilder:validation:XValidation:rule="!has(self.analysis) || self.analysis.checks.all(c, has(self.checks) && self.checks.exists(k, k.name == c))",message="spec.rollout.analysis names a check that spec.rollout.checks does not define: add the check to spec.rollout.checks or fix the name"
// +kubebuilder:validation:XValidation:rule="!has(self.analysis) || !has(self.analysis.count)",message="spec.rollout.analysis runs until the rollout completes: remove its count (count is for analysis steps)"
type RolloutStrategy struct {
	// MaxUnavailable is the disruption budget: at most this many pods (or this
	// percent of replicas, rounded down, at least 1) may be unavailable at once,
	// counting pods broken for unrelated reasons.
	// +optional
	// +kubebuilder:default="25%"
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 1 : self.matches('^([1-9][0-9]?|100)%$')",message="maxUnavailable must be an integer >= 1 or a percent from 1% to 100%"
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// Steps are walked in order. A percent step updates that share of the
	// replicas (rounded up); a pause step waits for its duration or, without
	// one, for a promote; an analysis step waits for its checks to pass.
	// After the last step the rest of the pods are updated.
	// +optional
	// +kubebuilder:default={{percent: 100}}
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.filter(s, has(s.percent)).map(s, s.percent).isSorted() && self.filter(s, has(s.percent)).all(a, self.filter(b, has(b.percent) && b.percent == a.percent).size() == 1)",message="percent steps must be strictly increasing (for example 10, 50, 100)"
	Steps []RolloutStep `json:"steps,omitempty"`

	// ProgressDeadlineSeconds is how long updated pods may take to become Ready
	// before the rollout is Degraded.
	// +optional
	// +kubebuilder:default=600
	// +kubebuilder:validation:Minimum=1
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`

	// AutoRollback rolls a Degraded rollout back to the stable revision.
	// +optional
	AutoRollback bool `json:"autoRollback,omitempty"`

	// Analysis is the background analysis: its checks are measured while
	// any step after the first runs, and a failure fails the rollout.
	// +optional
	Analysis *Analysis `json:"analysis,omitempty"`

	// Consul, when set, drains each pod's Consul instance before the pod
	// is deleted and can require updated pods to be healthy in Consul.
	// +optional
	Consul *Consul `json:"consul,omitempty"`

	// Checks are the measurements analyses name.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=name
	Checks []Check `json:"checks,omitempty"`

	// RollbackMaxUnavailable is the disruption budget while rolling back;
	// it defaults to maxUnavailable.
	// +optional
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 1 : self.matches('^([1-9][0-9]?|100)%$')",message="rollbackMaxUnavailable must be an integer >= 1 or a percent from 1% to 100%"
	RollbackMaxUnavailable *intstr.IntOrString `json:"rollbackMaxUnavailable,omitempty"`
}

// RolloutStep is a percent of replicas to update, a pause or an analysis.
// +kubebuilder:validation:XValidation:rule="[has(self.percent), has(self.pause), has(self.analysis)].filter(x, x).size() == 1",message="each step sets exactly one of percent, pause or analysis"
type RolloutStep struct {
	// Percent of replicas that run the new revision once this step completes.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Percent *int32 `json:"percent,omitempty"`

	// Pause waits for Duration, or for a promote when Duration is unset.
	// +optional
	Pause *PauseStep `json:"pause,omitempty"`

	// Analysis measures its checks and passes once they pass; a failure
	// fails the rollout.
	// +optional
	Analysis *Analysis `json:"analysis,omitempty"`
}

// PauseStep holds a rollout between two percent steps.
type PauseStep struct {
	// Duration to wait; unset waits for a promote.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="pause duration must not be negative"
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// Phase is where a rollout stands.
// +kubebuilder:validation:Enum=Progressing;Paused;Completed;Degraded;RollingBack;Aborted
type Phase string

const (
	PhaseProgressing Phase = "Progressing"
	PhasePaused      Phase = "Paused"
	PhaseCompleted   Phase = "Completed"
	PhaseDegraded    Phase = "Degraded"
	PhaseRollingBack Phase = "RollingBack"
	PhaseAborted     Phase = "Aborted"
)

// StatefulSetRolloutStatus is written by the operator only. Everything the
// planner needs to resume after a restart is here or observable in the cluster.
type StatefulSetRolloutStatus struct {
	// +optional
	Phase Phase `json:"phase,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// CurrentStepIndex is the step being worked on; len(steps) when all are done.
	// +optional
	CurrentStepIndex int32 `json:"currentStepIndex"`
	// StableRevision is the StatefulSet revision every pod ran before this rollout.
	// +optional
	StableRevision string `json:"stableRevision,omitempty"`
	// UpdateRevision is the StatefulSet revision this rollout moves pods to.
	// +optional
	UpdateRevision string `json:"updateRevision,omitempty"`
	// Partition is the StatefulSet partition sroll last authorised.
	// +optional
	Partition int32 `json:"partition"`
	// +optional
	Replicas int32 `json:"replicas"`
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas"`
	// +optional
	UpdatedReadyReplicas int32 `json:"updatedReadyReplicas"`
	// Selector is the label selector of the pods, for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// TemplateHash identifies the spec.template this rollout moves to; a new
	// template restarts the rollout from step 0.
	// +optional
	TemplateHash string `json:"templateHash,omitempty"`
	// StepStartedAt is when the current step began (pause durations).
	// +optional
	StepStartedAt *metav1.Time `json:"stepStartedAt,omitempty"`
	// ProgressedAt is when the rollout last made progress (the deadline counts from here).
	// +optional
	ProgressedAt *metav1.Time `json:"progressedAt,omitempty"`
	// StartedAt is when the rollout of TemplateHash began.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// RollbackReason is set while the rollout is rolled back to the stable
	// revision (Aborted or ProgressDeadlineExceeded); empty when moving forward.
	// +optional
	RollbackReason string `json:"rollbackReason,omitempty"`
	// HandledActions maps each action annotation to the value last acted on,
	// so a request is carried out once even if removing its annotation fails.
	// +optional
	HandledActions map[string]string `json:"handledActions,omitempty"`
	// Notifications records, per target, the last terminal event delivered.
	// +optional
	Notifications []NotificationStatus `json:"notifications,omitempty"`
	// ClaimResize is a storage increase of spec.volumeClaimTemplates being
	// carried out, recorded before each step so that a restarted operator
	// resumes it; nil when none is.
	// +optional
	ClaimResize *ClaimResize `json:"claimResize,omitempty"`
	// Replication is the replication decider's record; absent without spec.replication.
	// +optional
	Replication *ReplicationStatus `json:"replication,omitempty"`
	// Snapshots is the snapshot decider's record; absent without spec.snapshots.
	// +optional
	Snapshots *SnapshotsStatus `json:"snapshots,omitempty"`
	// Restore is a restore from a snapshot set being carried out, recorded
	// before each step so that a restarted operator resumes it; nil when
	// none is.
	// +optional
	Restore *RestoreStatus `json:"restore,omitempty"`

	// Analysis records the checks of the analyses running (the current
	// analysis step's and the background one), for the planner to judge.
	// +optional
	// +kubebuilder:validation:MaxItems=24
	Analysis []CheckRecord `json:"analysis,omitempty"`

	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ClaimResize carries a storage increase to the volumes: the StatefulSet
// API keeps volumeClaimTemplates immutable and never touches existing
// claims, so sroll expands each claim itself, then replaces the
// StatefulSet with the new templates without touching its pods (deleted
// with orphan propagation, recreated, the pods readopted).
type ClaimResize struct {
	// Storage is the storage request to reach, per claim template name.
	Storage map[string]resource.Quantity `json:"storage"`
	// Step is where the resize stands.
	Step ClaimResizeStep `json:"step"`
}

// ClaimResizeStep is a step of a ClaimResize.
// +kubebuilder:validation:Enum=Expanding;Replacing
type ClaimResizeStep string

const (
	// ClaimResizeExpanding: the existing claims' requests are being raised.
	ClaimResizeExpanding ClaimResizeStep = "Expanding"
	// ClaimResizeReplacing: every claim that can expand was asked to; the
	// StatefulSet is replaced with the new templates once the rollout is
	// settled.
	ClaimResizeReplacing ClaimResizeStep = "Replacing"
)

// StatefulSetRollout owns a StatefulSet of the same name and rolls new
// templates out to its pods in partition-pinned batches.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=sroll,categories=all
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Updated",type=integer,JSONPath=`.status.updatedReplicas`
// +kubebuilder:printcolumn:name="Step",type=integer,JSONPath=`.status.currentStepIndex`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type StatefulSetRollout struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   StatefulSetRolloutSpec   `json:"spec,omitempty"`
	Status StatefulSetRolloutStatus `json:"status,omitempty"`
}

// StatefulSetRolloutList is a list of StatefulSetRollouts.
// +kubebuilder:object:root=true
type StatefulSetRolloutList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []StatefulSetRollout `json:"items"`
}

func init() {
	SchemeBuilder.Register(&StatefulSetRollout{}, &StatefulSetRolloutList{})
}
