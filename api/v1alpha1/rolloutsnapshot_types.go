package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SnapshotReason says why a snapshot set was taken.
// +kubebuilder:validation:Enum=BeforeRollout;Scheduled;OnDemand;BeforeRestore
type SnapshotReason string

const (
	// SnapshotBeforeRollout: spec.snapshots.beforeRollout, before a new
	// template reached a pod. Automatic: spec.snapshots.keep applies.
	SnapshotBeforeRollout SnapshotReason = "BeforeRollout"
	// SnapshotScheduled: spec.snapshots.schedule. Automatic.
	SnapshotScheduled SnapshotReason = "Scheduled"
	// SnapshotOnDemand: asked for (kubectl sroll snapshot, or a
	// RolloutSnapshot created by hand). Kept until deleted.
	SnapshotOnDemand SnapshotReason = "OnDemand"
	// SnapshotBeforeRestore: the volumes as they were before a restore
	// replaced them. Kept until deleted.
	SnapshotBeforeRestore SnapshotReason = "BeforeRestore"
)

// Automatic reports whether sets of this reason are subject to
// spec.snapshots.keep.
func (r SnapshotReason) Automatic() bool {
	return r == SnapshotBeforeRollout || r == SnapshotScheduled
}

// RolloutSnapshotSpec says which rollout's volumes to capture and how. It
// can't change once created: a set is a record.
type RolloutSnapshotSpec struct {
	// RolloutName is the StatefulSetRollout, in this namespace, whose
	// members' volumes are captured: one VolumeSnapshot per claim of every
	// member.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	RolloutName string `json:"rolloutName"`

	// Reason is why the set is taken.
	// +optional
	// +kubebuilder:default=OnDemand
	Reason SnapshotReason `json:"reason,omitempty"`

	// VolumeSnapshotClassName is the class of the VolumeSnapshots; unset
	// uses the cluster's default class for the claims' driver.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	VolumeSnapshotClassName string `json:"volumeSnapshotClassName,omitempty"`

	// Group says whether the set is one VolumeGroupSnapshot of every
	// member's claims (Auto: when one can be taken; Always; Never), as
	// spec.snapshots.group of a rollout says.
	// +optional
	// +kubebuilder:default=Auto
	Group SnapshotGroupPolicy `json:"group,omitempty"`

	// VolumeGroupSnapshotClassName is the class of the VolumeGroupSnapshot;
	// unset uses the cluster's default class for the claims' driver.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	VolumeGroupSnapshotClassName string `json:"volumeGroupSnapshotClassName,omitempty"`

	// ReadyTimeoutSeconds is how long the set may take to become Ready
	// before it is Failed.
	// +optional
	// +kubebuilder:default=600
	// +kubebuilder:validation:Minimum=1
	ReadyTimeoutSeconds *int32 `json:"readyTimeoutSeconds,omitempty"`
}

// SnapshotPhase is where a snapshot set stands.
// +kubebuilder:validation:Enum=Pending;Ready;Failed
type SnapshotPhase string

const (
	// SnapshotPending: its VolumeSnapshots are being taken.
	SnapshotPending SnapshotPhase = "Pending"
	// SnapshotReady: every VolumeSnapshot is ready to restore from.
	SnapshotReady SnapshotPhase = "Ready"
	// SnapshotFailed: a VolumeSnapshot failed, or the set was not Ready in
	// time. Its VolumeSnapshots stay, for inspection, until it is deleted.
	SnapshotFailed SnapshotPhase = "Failed"
)

// RolloutSnapshotStatus is written by the operator only. What the set
// captures (members, claims, VolumeSnapshot names) is recorded before the
// VolumeSnapshots are created, so a restarted operator creates the same ones.
type RolloutSnapshotStatus struct {
	// +optional
	Phase SnapshotPhase `json:"phase,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// Revision is the StatefulSet revision the members ran when the set
	// was started (the stable one before a rollout).
	// +optional
	Revision string `json:"revision,omitempty"`
	// Images are the container images of that revision.
	// +optional
	Images []string `json:"images,omitempty"`
	// Replicas is how many members were captured; a restore needs the
	// rollout to have as many.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// ReadyVolumes counts the VolumeSnapshots ready to use, of len(volumes).
	// +optional
	ReadyVolumes int32 `json:"readyVolumes"`
	// StartedAt is when the set was started; the ready timeout counts from here.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// ReadyAt is when the last VolumeSnapshot became ready.
	// +optional
	ReadyAt *metav1.Time `json:"readyAt,omitempty"`
	// Group is the set's VolumeGroupSnapshot, recorded before it is
	// created; nil when the set is one VolumeSnapshot per claim.
	// +optional
	Group *SnapshotGroup `json:"group,omitempty"`
	// NotGrouped says why a set of group policy Auto is one VolumeSnapshot
	// per claim; empty when it is a group or the policy is Never.
	// +optional
	NotGrouped string `json:"notGrouped,omitempty"`
	// Volumes has one entry per claim of every member, by member then claim.
	// +optional
	// +listType=map
	// +listMapKey=claim
	Volumes []SnapshotVolume `json:"volumes,omitempty"`
	// Freeze is the freeze of the members around the cut of the volume
	// snapshots, when the rollout has replication hooks freeze and thaw.
	// It is written before the first freeze hook runs and before the
	// first thaw hook runs, so a restarted operator thaws every member it
	// may have frozen.
	// +optional
	Freeze *SnapshotFreeze `json:"freeze,omitempty"`
	// NotifiedAt is when the set's end (SnapshotReady or SnapshotFailed)
	// was handed to the rollout's notification targets; a set that ended
	// without it is handed over after an operator restart, one with it
	// never again.
	// +optional
	NotifiedAt *metav1.Time `json:"notifiedAt,omitempty"`
}

// SnapshotFreeze is the set's record of its members' freeze.
type SnapshotFreeze struct {
	// StartedAt is when the freeze was decided, before any freeze hook
	// ran; the freeze limit counts from here.
	StartedAt metav1.Time `json:"startedAt"`
	// TimeoutSeconds is the freeze limit, taken from the rollout's
	// spec.snapshots.freezeTimeoutSeconds when the freeze started.
	TimeoutSeconds int32 `json:"timeoutSeconds"`
	// CutAt is when every VolumeSnapshot was cut: each has
	// status.creationTime, the moment the storage took the point-in-time
	// copy (it may still be uploading: readyToUse comes later).
	// +optional
	CutAt *metav1.Time `json:"cutAt,omitempty"`
	// ThawStartedAt is when the thaw was decided (the snapshots were cut,
	// a freeze or a snapshot failed, or the limit passed), before any
	// thaw hook ran.
	// +optional
	ThawStartedAt *metav1.Time `json:"thawStartedAt,omitempty"`
	// ThawedAt is when the last member was thawed.
	// +optional
	ThawedAt *metav1.Time `json:"thawedAt,omitempty"`
	// Members has one entry per member, by ordinal.
	// +listType=map
	// +listMapKey=name
	Members []FrozenMember `json:"members"`
}

// FrozenMember is one member's freeze and thaw.
type FrozenMember struct {
	Name string `json:"name"`
	// Incarnation is the pod (UID and hook container restarts) the freeze
	// was asked of: once it is replaced, nothing of the freeze remains.
	// +optional
	Incarnation string `json:"incarnation,omitempty"`
	// FrozenAt is when its freeze hook succeeded.
	// +optional
	FrozenAt *metav1.Time `json:"frozenAt,omitempty"`
	// ThawedAt is when its thaw hook succeeded, or its pod was found
	// replaced.
	// +optional
	ThawedAt *metav1.Time `json:"thawedAt,omitempty"`
	// FreezeFailed is true when its freeze hook failed: it is thawed once,
	// not again after a failed thaw (it may never have frozen).
	// +optional
	FreezeFailed bool `json:"freezeFailed,omitempty"`
	// LastError is the last freeze or thaw failure.
	// +optional
	LastError string `json:"lastError,omitempty"`
	// ThawFailures counts its failed thaws in a row, for the retry backoff.
	// +optional
	ThawFailures int32 `json:"thawFailures,omitempty"`
	// LastThawFailure is when its last thaw failed.
	// +optional
	LastThawFailure *metav1.Time `json:"lastThawFailure,omitempty"`
}

// SnapshotVolume is one claim of one member and its VolumeSnapshot.
type SnapshotVolume struct {
	// Claim is the PersistentVolumeClaim captured.
	Claim string `json:"claim"`
	// Member is the pod whose claim it is.
	Member string `json:"member"`
	// VolumeSnapshot is the name of its VolumeSnapshot: owned by the set,
	// or, in a group, the member the snapshot controller made for this
	// claim (empty until it exists).
	// +optional
	VolumeSnapshot string `json:"volumeSnapshot,omitempty"`
	// +optional
	Ready bool `json:"ready,omitempty"`
	// Error is the snapshot controllers' last error, if any.
	// +optional
	Error string `json:"error,omitempty"`
}

// SnapshotGroup is the one VolumeGroupSnapshot of a set: it selects the
// members' claims by label and the snapshot controller makes one member
// VolumeSnapshot per claim, all taken at one instant.
type SnapshotGroup struct {
	// VolumeGroupSnapshot is its name (the set's), owned by the set.
	VolumeGroupSnapshot string `json:"volumeGroupSnapshot"`
	// VolumeGroupSnapshotClassName is the class it is taken with.
	VolumeGroupSnapshotClassName string `json:"volumeGroupSnapshotClassName"`
	// Selector is the labels it selects claims by: the StatefulSet's
	// selector labels, which the StatefulSet controller puts on every
	// claim it makes (and labels all claim templates share).
	Selector map[string]string `json:"selector"`
	// Ready is its readyToUse.
	// +optional
	Ready bool `json:"ready,omitempty"`
	// Error is the snapshot controllers' last error of the group, if any.
	// +optional
	Error string `json:"error,omitempty"`
	// AlsoCaptured are claims the selector selected that are no member's
	// (left by a scale-down, or another owner's with the same labels):
	// they are in the group, and a restore leaves them alone.
	// +optional
	AlsoCaptured []string `json:"alsoCaptured,omitempty"`
}

// RolloutSnapshot is a snapshot set: one VolumeSnapshot of each claim of
// every member of a StatefulSetRollout, taken together (or one
// VolumeGroupSnapshot of them all), which a restore puts back. It owns its
// VolumeSnapshots or VolumeGroupSnapshot (deleting it deletes them); it is
// not owned by its rollout unless spec.snapshots.deleteWithRollout says so.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rsnap
// +kubebuilder:validation:XValidation:rule="self.spec == oldSelf.spec",message="spec can't change: a snapshot set is a record; create another RolloutSnapshot"
// +kubebuilder:printcolumn:name="Rollout",type=string,JSONPath=`.spec.rolloutName`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.spec.reason`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.revision`
// +kubebuilder:printcolumn:name="Members",type=integer,JSONPath=`.status.replicas`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.status.group.volumeGroupSnapshot`,description="The set's VolumeGroupSnapshot; empty when it is one VolumeSnapshot per claim"
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyVolumes`,description="VolumeSnapshots ready to use"
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RolloutSnapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RolloutSnapshotSpec   `json:"spec"`
	Status RolloutSnapshotStatus `json:"status,omitempty"`
}

// RolloutSnapshotList is a list of RolloutSnapshots.
// +kubebuilder:object:root=true
type RolloutSnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RolloutSnapshot `json:"items"`
}

// ReadyTimeoutOrDefault is how long the set may take to become Ready, in seconds.
func (s *RolloutSnapshotSpec) ReadyTimeoutOrDefault() int32 {
	if s.ReadyTimeoutSeconds == nil {
		return DefaultSnapshotReadyTimeoutSeconds
	}
	return *s.ReadyTimeoutSeconds
}

func init() {
	SchemeBuilder.Register(&RolloutSnapshot{}, &RolloutSnapshotList{})
}

// GroupOrDefault is the set's group policy; unset is Auto.
func (s *RolloutSnapshotSpec) GroupOrDefault() SnapshotGroupPolicy {
	if s.Group == "" {
		return SnapshotGroupAuto
	}
	return s.Group
}
