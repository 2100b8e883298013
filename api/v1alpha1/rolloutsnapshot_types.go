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
	// Volumes has one entry per claim of every member, by member then claim.
	// +optional
	// +listType=map
	// +listMapKey=claim
	Volumes []SnapshotVolume `json:"volumes,omitempty"`
}

// SnapshotVolume is one claim of one member and its VolumeSnapshot.
type SnapshotVolume struct {
	// Claim is the PersistentVolumeClaim captured.
	Claim string `json:"claim"`
	// Member is the pod whose claim it is.
	Member string `json:"member"`
	// VolumeSnapshot is the name of its VolumeSnapshot, owned by the set.
	VolumeSnapshot string `json:"volumeSnapshot"`
	// +optional
	Ready bool `json:"ready,omitempty"`
	// Error is the snapshot controllers' last error, if any.
	// +optional
	Error string `json:"error,omitempty"`
}

// RolloutSnapshot is a snapshot set: one VolumeSnapshot of each claim of
// every member of a StatefulSetRollout, taken together, which a restore
// puts back. It owns its VolumeSnapshots (deleting it deletes them); it is
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
