package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReplicationSpec hands the application's lifecycle to hooks that sroll runs
// in each member's container: which copy starts first after an outage
// (sequence, seed), how the others join it (primary, secondary), how a member
// leaves cleanly (stop) and whether it is healthy in its role (status). The
// container's own command must not start the application; the hooks do.
//
// +kubebuilder:validation:XValidation:rule="!has(self.primaries) || self.primaries == 1 || has(self.hooks.primary)",message="spec.replication.hooks.primary is required when primaries is more than 1: it starts the members after the seed as primaries"
type ReplicationSpec struct {
	// Container is the container the hooks run in; the first one when unset.
	// +optional
	// +kubebuilder:validation:MinLength=1
	Container string `json:"container,omitempty"`

	// Primaries is how many members act as primaries; the rest are
	// secondaries. More than 1 is for multi-primary applications.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	Primaries *int32 `json:"primaries,omitempty"`

	// Hooks are the application owner's commands.
	Hooks ReplicationHooks `json:"hooks"`

	// Recovery says when a copy may be seeded after a full outage.
	// +optional
	// +kubebuilder:default={}
	Recovery RecoverySpec `json:"recovery,omitempty"`
}

// ReplicationHooks are the commands sroll runs through pods/exec. Each must
// be idempotent: an operator restarted while a hook ran runs it again on the
// same member (never on another one).
type ReplicationHooks struct {
	// Sequence prints one integer on stdout: how recent this copy's data is
	// (higher is newer).
	Sequence Hook `json:"sequence"`
	// Seed starts the application as the first primary, on the newest copy.
	Seed Hook `json:"seed"`
	// Primary starts or joins the member as a primary; the active primaries'
	// addresses are appended as arguments.
	// +optional
	Primary *Hook `json:"primary,omitempty"`
	// Secondary starts or joins the member as a secondary; the active
	// primaries' addresses are appended as arguments.
	// +optional
	Secondary *Hook `json:"secondary,omitempty"`
	// Stop stops the application cleanly; sroll runs it before it deletes a
	// pod for a rollout and before a scale-down removes a member.
	Stop Hook `json:"stop"`
	// Status exits 0 while the member is healthy in its role.
	Status StatusHook `json:"status"`
}

// Hook is one command run in the member's container.
type Hook struct {
	// Command is run without a shell; use ["sh", "-c", "..."] for one.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Command []string `json:"command"`
	// TimeoutSeconds ends a hook that runs longer; it then counts as failed.
	// +optional
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`
}

// StatusHook is the health check, run every PeriodSeconds on each joined member.
type StatusHook struct {
	Hook `json:",inline"`
	// PeriodSeconds is how often the status hook runs on each member.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	PeriodSeconds *int32 `json:"periodSeconds,omitempty"`
}

// Quorum is how many members must report a sequence before one is seeded.
// +kubebuilder:validation:Enum=All;Majority
type Quorum string

const (
	// QuorumAll waits for every member: no copy that may be newer is skipped.
	QuorumAll Quorum = "All"
	// QuorumMajority seeds once more than half answered, accepting that an
	// unreachable copy may hold newer data.
	QuorumMajority Quorum = "Majority"
)

// RecoverySpec bounds the wait for the members' sequences.
type RecoverySpec struct {
	// Quorum is All (every member must answer) or Majority.
	// +optional
	// +kubebuilder:default=All
	Quorum Quorum `json:"quorum,omitempty"`
	// TimeoutSeconds without quorum makes the replication phase Degraded,
	// naming the members that did not answer. sroll keeps asking and never
	// guesses.
	// +optional
	// +kubebuilder:default=300
	// +kubebuilder:validation:Minimum=1
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`
}

// ReplicationPhase is where the replicated application stands.
// +kubebuilder:validation:Enum=Bootstrapping;Recovering;Healthy;Degraded
type ReplicationPhase string

const (
	// ReplicationBootstrapping: day 1, no member was ever seeded.
	ReplicationBootstrapping ReplicationPhase = "Bootstrapping"
	// ReplicationRecovering: no member was active; the newest copy is being found and seeded.
	ReplicationRecovering ReplicationPhase = "Recovering"
	// ReplicationHealthy: every member runs in its role and passes its status hook.
	ReplicationHealthy ReplicationPhase = "Healthy"
	// ReplicationDegraded: a member is not running in its role, or recovery waits without quorum.
	ReplicationDegraded ReplicationPhase = "Degraded"
)

// MemberRole is the role a member was given; it is kept while the member is
// stopped, so status says which member was primary most recently.
// +kubebuilder:validation:Enum=Primary;Secondary;None
type MemberRole string

const (
	RolePrimary   MemberRole = "Primary"
	RoleSecondary MemberRole = "Secondary"
	RoleNone      MemberRole = "None"
)

// MemberState is what sroll knows of the application in a member's pod.
// +kubebuilder:validation:Enum=Stopped;Starting;Running;Failed
type MemberState string

const (
	// MemberStopped: the application is not running (a new pod, a stop hook done, a join that failed).
	MemberStopped MemberState = "Stopped"
	// MemberStarting: its seed, primary or secondary hook was started; Running once its status hook passes.
	MemberStarting MemberState = "Starting"
	// MemberRunning: joined, and its last status hook passed.
	MemberRunning MemberState = "Running"
	// MemberFailed: joined, but its last status hook failed.
	MemberFailed MemberState = "Failed"
)

// ReplicationStatus is written by the operator only, from the replication
// decider's answer; a restarted operator resumes from it.
type ReplicationStatus struct {
	// +optional
	Phase ReplicationPhase `json:"phase,omitempty"`
	// Seed is the member seeded by the last bootstrap or recovery. It is
	// written before the seed hook runs and cleared when a recovery starts,
	// so one recovery never seeds two members.
	// +optional
	Seed string `json:"seed,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// RecoveryStartedAt is when the current bootstrap or recovery began; the
	// recovery timeout counts from here.
	// +optional
	RecoveryStartedAt *metav1.Time `json:"recoveryStartedAt,omitempty"`
	// Members has one entry per pod, by ordinal.
	// +optional
	// +listType=map
	// +listMapKey=name
	Members []ReplicationMember `json:"members,omitempty"`
}

// ReplicationMember is one member as the decider last judged it.
type ReplicationMember struct {
	Name string `json:"name"`
	// +optional
	Role MemberRole `json:"role,omitempty"`
	// +optional
	State MemberState `json:"state,omitempty"`
	// Sequence is the last one reported during the current or last recovery.
	// +optional
	Sequence *int64 `json:"sequence,omitempty"`
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
	// LastError is the last hook failure, with its exit code and the end of
	// its stderr; cleared once the member runs in its role again.
	// +optional
	LastError string `json:"lastError,omitempty"`
	// Incarnation is the pod UID and hook container restart count this state
	// belongs to: a recreated pod or restarted container starts Stopped.
	// +optional
	Incarnation string `json:"incarnation,omitempty"`
	// Joined is true once the member's seed, primary or secondary hook succeeded in this incarnation.
	// +optional
	Joined bool `json:"joined,omitempty"`
	// Failures counts the hook failures in a row, for the retry backoff.
	// +optional
	Failures int32 `json:"failures,omitempty"`
}
