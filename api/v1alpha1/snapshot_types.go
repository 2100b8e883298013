package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SnapshotSpec is a rollout's safety net: snapshot sets (RolloutSnapshots)
// of every member's volumes, taken before a new template reaches a pod.
type SnapshotSpec struct {
	// BeforeRollout takes a snapshot set before each new template reaches
	// the StatefulSet: the rollout waits (Progressing, "taking snapshot
	// set …") until the set is Ready, and is Degraded, with no pod
	// touched, when the set fails or is not Ready within
	// readyTimeoutSeconds.
	// +optional
	BeforeRollout bool `json:"beforeRollout,omitempty"`

	// VolumeSnapshotClassName is the class of the VolumeSnapshots; unset
	// uses the cluster's default class for the claims' driver.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	VolumeSnapshotClassName string `json:"volumeSnapshotClassName,omitempty"`

	// Group says whether a set is one VolumeGroupSnapshot of every
	// member's claims, taken at one instant (crash-consistent across
	// members), or one VolumeSnapshot per claim. Auto: a group when the
	// cluster serves VolumeGroupSnapshots and a VolumeGroupSnapshotClass
	// exists for the claims' driver (the one named in
	// volumeGroupSnapshotClassName, else the driver's default), unless
	// only volumeSnapshotClassName is named (that class is then used, per
	// claim); else one VolumeSnapshot per claim. Always: a group, or the
	// set is Failed saying why not. Never: one VolumeSnapshot per claim.
	// +optional
	// +kubebuilder:default=Auto
	Group SnapshotGroupPolicy `json:"group,omitempty"`

	// VolumeGroupSnapshotClassName is the class of the VolumeGroupSnapshots;
	// unset uses the cluster's default VolumeGroupSnapshotClass for the
	// claims' driver.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	VolumeGroupSnapshotClassName string `json:"volumeGroupSnapshotClassName,omitempty"`

	// Schedule takes a set (reason Scheduled) at the times of this cron
	// expression, in UTC: minute hour day-of-month month day-of-week,
	// e.g. "0 */6 * * *". A time missed while the operator was down gives
	// one set, not one per time missed.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9*/,-]+( +[0-9A-Za-z*/,?-]+){4}$')",message="spec.snapshots.schedule must be five cron fields in UTC (minute hour day-of-month month day-of-week), for example \"0 */6 * * *\""
	Schedule string `json:"schedule,omitempty"`

	// Keep is how many automatic sets (BeforeRollout, Scheduled) of this rollout are
	// kept, counting Ready ones from the newest: older automatic sets are
	// deleted once a newer one is Ready. On-demand and BeforeRestore sets
	// are the user's to delete.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Keep *int32 `json:"keep,omitempty"`

	// ReadyTimeoutSeconds is how long a set may take to become Ready
	// before it is Failed.
	// +optional
	// +kubebuilder:default=600
	// +kubebuilder:validation:Minimum=1
	ReadyTimeoutSeconds *int32 `json:"readyTimeoutSeconds,omitempty"`

	// FreezeTimeoutSeconds bounds how long the members stay frozen by
	// spec.replication.hooks.freeze, counted from when the freeze is
	// recorded in the set's status (before the first freeze hook runs) to
	// the last thaw: a set whose members are frozen longer is Failed and
	// they are thawed. Default 30; only with a freeze hook.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600
	FreezeTimeoutSeconds *int32 `json:"freezeTimeoutSeconds,omitempty"`

	// DeleteWithRollout makes the rollout an owner of its sets, so that
	// deleting the rollout deletes them (and their VolumeSnapshots). By
	// default a set outlives its rollout: data outlives its app.
	// +optional
	DeleteWithRollout bool `json:"deleteWithRollout,omitempty"`
}

// SnapshotGroupPolicy says when a snapshot set is one VolumeGroupSnapshot.
// +kubebuilder:validation:Enum=Auto;Always;Never
type SnapshotGroupPolicy string

const (
	// SnapshotGroupAuto: a group when one can be taken, else one
	// VolumeSnapshot per claim.
	SnapshotGroupAuto SnapshotGroupPolicy = "Auto"
	// SnapshotGroupAlways: a group, or the set fails.
	SnapshotGroupAlways SnapshotGroupPolicy = "Always"
	// SnapshotGroupNever: one VolumeSnapshot per claim.
	SnapshotGroupNever SnapshotGroupPolicy = "Never"
)

// DefaultSnapshotKeep is the +kubebuilder:default of spec.snapshots.keep.
const DefaultSnapshotKeep = 5

// DefaultSnapshotReadyTimeoutSeconds is the +kubebuilder:default of
// readyTimeoutSeconds.
const DefaultSnapshotReadyTimeoutSeconds = 600

// DefaultFreezeTimeoutSeconds is the freeze limit when
// spec.snapshots.freezeTimeoutSeconds is unset: short, because a frozen
// application takes no writes.
const DefaultFreezeTimeoutSeconds = 30

// FreezeTimeoutOrDefault is the freeze limit, in seconds; s may be nil
// (an on-demand set of a rollout without spec.snapshots).
func (s *SnapshotSpec) FreezeTimeoutOrDefault() int32 {
	if s == nil || s.FreezeTimeoutSeconds == nil {
		return DefaultFreezeTimeoutSeconds
	}
	return *s.FreezeTimeoutSeconds
}

// KeepOrDefault is how many automatic sets are kept.
func (s *SnapshotSpec) KeepOrDefault() int {
	if s.Keep == nil {
		return DefaultSnapshotKeep
	}
	return int(*s.Keep)
}

// SnapshotsStatus is the snapshot decider's record on the rollout
// (status.snapshots), written before the set it names is created, so that
// a restarted operator never takes two sets for one template.
type SnapshotsStatus struct {
	// BeforeRollout is the set the rollout of a template waits for.
	// +optional
	BeforeRollout *SnapshotSetRef `json:"beforeRollout,omitempty"`
	// LastScheduleTime is the last time of spec.snapshots.schedule a set
	// was taken for (or, at first, when the schedule was first seen); the
	// next set is due at the schedule's next time after it.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`
	// ScheduleError says why spec.snapshots.schedule can't be used; empty
	// when it can.
	// +optional
	ScheduleError string `json:"scheduleError,omitempty"`
}

// SnapshotSetRef names the RolloutSnapshot taken for one attempt at
// rolling out a template.
type SnapshotSetRef struct {
	// Name of the RolloutSnapshot.
	Name string `json:"name"`
	// TemplateHash is status.templateHash of the template it was taken for.
	TemplateHash string `json:"templateHash"`
	// Retry is the sroll.dev/retry request it was taken under: a retry of
	// a rollout whose set failed takes a new one.
	// +optional
	Retry string `json:"retry,omitempty"`
}

// RestoreStatus is a restore of every member's volumes from a snapshot set
// (status.restore), asked for with the sroll.dev/restore annotation.
type RestoreStatus struct {
	// From is the RolloutSnapshot restored from.
	From string `json:"from"`
	// BeforeRestore is the set of the volumes as they were, taken first.
	BeforeRestore string `json:"beforeRestore"`
	// Step is where the restore stands.
	Step RestoreStep `json:"step"`
	// StartedAt is when the restore was asked for.
	StartedAt metav1.Time `json:"startedAt"`
}

// RestoreStep is a step of a restore, in order.
// +kubebuilder:validation:Enum=BeforeRestore;ScalingDown;Replacing
type RestoreStep string

const (
	// RestoreBeforeRestore: the BeforeRestore set is being taken; nothing
	// was changed yet, and a failure of that set ends the restore there.
	RestoreBeforeRestore RestoreStep = "BeforeRestore"
	// RestoreScalingDown: every member is stopped (the replication stop
	// hook first, when configured) and the StatefulSet scaled to zero.
	RestoreScalingDown RestoreStep = "ScalingDown"
	// RestoreReplacing: each claim is deleted and created again from its
	// VolumeSnapshot; the StatefulSet is scaled back once all are bound.
	RestoreReplacing RestoreStep = "Replacing"
)
