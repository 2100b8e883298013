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
// +kubebuilder:validation:XValidation:rule="has(self.fencing) ? has(self.fencing.webhook) != has(self.hooks.fence) : !has(self.hooks.fence)",message="spec.replication.fencing needs exactly one of fencing.webhook and hooks.fence (who confirms that a NotReady node is powered off or isolated), and hooks.fence is used only with spec.replication.fencing"
// +kubebuilder:validation:XValidation:rule="has(self.hooks.freeze) == has(self.hooks.thaw)",message="spec.replication.hooks.freeze and hooks.thaw go together: a frozen member must be thawed, and a thaw hook has nothing to undo without a freeze hook"
// +kubebuilder:validation:XValidation:rule="!has(self.failover) || !self.failover.enabled || !has(self.primaries) || self.primaries == 1",message="spec.replication.failover is for a single primary: with several primaries the others keep taking writes; set failover.enabled to false or primaries to 1"
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

	// Failover promotes a secondary when the primary stays unhealthy.
	// +optional
	Failover *FailoverSpec `json:"failover,omitempty"`

	// Fencing asks for a NotReady node to be confirmed powered off or
	// isolated before its pods are force-deleted.
	// +optional
	Fencing *FencingSpec `json:"fencing,omitempty"`
}

// FailoverSpec says when a secondary takes over from an unhealthy primary.
type FailoverSpec struct {
	// Enabled turns automatic failover on.
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// AfterSeconds is how long the primary may be unhealthy (its status
	// hook failing or its pod gone) before a secondary is promoted. The
	// old primary must also be known to be down: stopped by its stop hook,
	// its pod gone, or its node fenced.
	// +optional
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=1
	AfterSeconds *int32 `json:"afterSeconds,omitempty"`
}

// FencingSpec says who confirms that a NotReady node can no longer run the
// members it holds, and after how long it is asked. Only after a
// confirmation does sroll put the node.kubernetes.io/out-of-service taint
// on the node, so that Kubernetes force-deletes its pods and the
// StatefulSet recreates them elsewhere. It needs the operator's
// cluster-scoped permission on nodes.
type FencingSpec struct {
	// Webhook is POSTed a signed JSON body naming the node and must answer
	// 2xx with {"fenced": true} once the node is powered off or isolated;
	// anything else is a refusal, retried with a backoff. The other way is
	// hooks.fence.
	// +optional
	Webhook *WebhookEndpoint `json:"webhook,omitempty"`
	// AfterSeconds is how long a node may be NotReady before sroll asks
	// for its fencing.
	// +optional
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=1
	AfterSeconds *int32 `json:"afterSeconds,omitempty"`
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
	// Status exits 0 while the member is healthy in its role; the role it
	// should have, "primary" or "secondary", is appended.
	Status StatusHook `json:"status"`
	// Switchover hands the primary role to the member it runs on, which is
	// a healthy secondary; the current primary's address is appended. A
	// rollout runs it before it replaces the primary, and a failover
	// promotes with it (with the seed hook when it is unset). It should
	// stop the old primary taking writes, wait until this member has
	// everything the old primary acknowledged, then promote it.
	// +optional
	Switchover *Hook `json:"switchover,omitempty"`
	// Fence confirms, by exiting 0, that a NotReady node is powered off or
	// isolated; it runs in a member on another node, with the node's name
	// and the names of the members on it appended. It is used with
	// spec.replication.fencing, instead of fencing.webhook.
	// +optional
	Fence *Hook `json:"fence,omitempty"`
	// Freeze makes the member's data consistent on disk and holds its
	// writes (flush, checkpoint, fsfreeze) until the thaw hook runs. It
	// runs on every member before the volume snapshots of a snapshot set
	// are created, within spec.snapshots.freezeTimeoutSeconds; the
	// snapshots are created only once every member is frozen.
	// +optional
	Freeze *Hook `json:"freeze,omitempty"`
	// Thaw undoes the freeze hook. It runs on every member asked to
	// freeze as soon as the volume snapshots are cut, and also when a
	// freeze or a snapshot fails or the freeze limit passes, so it must
	// succeed on a member that is not (or only partly) frozen.
	// +optional
	Thaw *Hook `json:"thaw,omitempty"`
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
	// Promotion is a switchover or failover in progress. It is written
	// before the promoting hook runs, so a restarted operator promotes the
	// same member, and cleared once the new primary passed its status hook
	// as primary and (for a switchover) the old primary is stopped.
	// +optional
	Promotion *Promotion `json:"promotion,omitempty"`
	// PrimaryLostAt is when the primary stopped running in its role;
	// failover.afterSeconds counts from here. Cleared once a primary runs.
	// +optional
	PrimaryLostAt *metav1.Time `json:"primaryLostAt,omitempty"`
	// Fencing has one record per NotReady node holding a member, from the
	// time its fencing is asked for until the node is Ready again and
	// sroll's taint is removed.
	// +optional
	// +listType=map
	// +listMapKey=node
	Fencing []NodeFencing `json:"fencing,omitempty"`
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

// PromotionReason is why a member is being promoted.
// +kubebuilder:validation:Enum=Switchover;Failover
type PromotionReason string

const (
	// PromotionSwitchover: a rollout replaces the primary's pod; its role
	// goes to an updated, healthy secondary first.
	PromotionSwitchover PromotionReason = "Switchover"
	// PromotionFailover: the primary was unhealthy for
	// failover.afterSeconds and is known to be down.
	PromotionFailover PromotionReason = "Failover"
)

// Promotion is the primary role moving from one member to another.
type Promotion struct {
	Reason PromotionReason `json:"reason"`
	// From is the primary being replaced.
	From string `json:"from"`
	// FromIncarnation is From's incarnation when the promotion started: a
	// switchover ends when that pod was replaced.
	// +optional
	FromIncarnation string `json:"fromIncarnation,omitempty"`
	// To is the member being promoted; empty while a failover waits for
	// the candidates' sequences.
	// +optional
	To        string      `json:"to,omitempty"`
	StartedAt metav1.Time `json:"startedAt"`
	// PromotedAt is when the promoting hook succeeded and the roles changed.
	// +optional
	PromotedAt *metav1.Time `json:"promotedAt,omitempty"`
	// ConfirmedAt is when the new primary's status hook first passed as
	// primary; then the other secondaries are repointed at it, and a
	// switchover's old primary is stopped and replaced.
	// +optional
	ConfirmedAt *metav1.Time `json:"confirmedAt,omitempty"`
}

// FencingState is where a node's fencing stands.
// +kubebuilder:validation:Enum=Requested;Refused;Confirmed
type FencingState string

const (
	// FencingRequested: the webhook or fence hook was asked and has not answered.
	FencingRequested FencingState = "Requested"
	// FencingRefused: it did not confirm; nothing on the node is
	// force-deleted, and it is asked again after a backoff.
	FencingRefused FencingState = "Refused"
	// FencingConfirmed: the node is powered off or isolated; sroll taints it out of service.
	FencingConfirmed FencingState = "Confirmed"
)

// NodeFencing is one NotReady node's fencing.
type NodeFencing struct {
	Node string `json:"node"`
	// Members are the members on the node when its fencing was asked for.
	// +optional
	Members []string     `json:"members,omitempty"`
	State   FencingState `json:"state"`
	// NotReadySince is when the node became NotReady: a confirmation holds
	// for that outage only, and a node that comes back and goes again is
	// asked again.
	NotReadySince metav1.Time `json:"notReadySince"`
	// Message is the last answer: why it was refused, or who confirmed.
	// +optional
	Message     string      `json:"message,omitempty"`
	RequestedAt metav1.Time `json:"requestedAt"`
	// +optional
	ConfirmedAt *metav1.Time `json:"confirmedAt,omitempty"`
	// Tainted is true once sroll's out-of-service taint is on the node.
	// +optional
	Tainted bool `json:"tainted,omitempty"`
	// Failures counts the refusals in a row, for the retry backoff.
	// +optional
	Failures int32 `json:"failures,omitempty"`
}
