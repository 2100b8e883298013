// Package render draws the `kubectl sroll status` screen. Status is a pure
// function of a Model, so the screen is tested with golden files and the
// live view only has to read the cluster into a Model once a second.
package render

import "time"

// Model is one rollout as read from the cluster at Now. The cli package
// fills it in; nothing here talks to the API server.
type Model struct {
	Name      string
	Namespace string
	Phase     string
	Message   string
	// Outdated is true while the operator has not yet observed the latest
	// spec, so phase and message describe the previous one.
	Outdated bool
	// Paused is spec.paused: the operator holds the rollout where it is.
	Paused bool

	// Steps are the spec's steps, labelled ("25%", "pause", "pause 5m0s").
	Steps []string
	// StepsEndAtFull is true when the last step is a 100% step; otherwise
	// an implicit final step updates the rest of the pods.
	StepsEndAtFull bool
	// CurrentStep is status.currentStepIndex: len(Steps) once the steps are
	// done and the rest of the pods are being updated.
	CurrentStep int

	Stable    Revision
	Update    Revision
	Partition int32
	// Desired is spec.replicas.
	Desired int32
	// Counts are the pods the bar shows, counted by the planner.
	Counts Counts
	// Pods are the pods the rollout's selector matches, in any order.
	Pods []Pod
	// Events are the rollout's events, in any order; the newest few are shown.
	Events []Event
	// Snapshots are the rollout's snapshot sets, newest first; the status
	// screen shows the newest, the dashboard all of them.
	Snapshots []Snapshot
	// Replication is status.replication; nil without spec.replication.
	Replication *Replication
	// Checks are the checks of the analyses running (status.analysis), in
	// status order.
	Checks []Check
	// Actions are the ways to steer the rollout, each with why it does not
	// apply now (the plugin's refusal) or none; the dashboard enables its
	// buttons by them.
	Actions []ActionState

	// Now is when the model was read; ages are counted from it.
	Now time.Time
}

// ActionState is one action (pause, resume, promote, promote-full, abort,
// retry, undo) and whether it applies now.
type ActionState struct {
	Action string
	// Refusal is why the action does not apply now; empty when it does.
	Refusal string
}

// Revision is one entry of the StatefulSet's history.
type Revision struct {
	// Name is the ControllerRevision name, which pods carry in their
	// controller-revision-hash label. Empty when not known yet.
	Name string
	// Number is the ControllerRevision's revision; 0 when not known.
	Number int64
	Images []string
}

// Counts are the StatefulSet's pods as the planner counts them in status;
// terminating pods count nowhere.
type Counts struct {
	// Live is status.replicas, Updated status.updatedReplicas,
	// UpdatedAvailable status.updatedReadyReplicas (Ready for
	// minReadySeconds) and Ready status.readyReplicas.
	Live, Updated, UpdatedAvailable, Ready int32
}

// Pod is what the screen needs of one pod.
type Pod struct {
	Name    string
	Ordinal int
	// Revision is the pod's controller-revision-hash label.
	Revision    string
	Ready       bool
	Terminating bool
	// NotReady is why the pod is not Ready as the API reports it
	// (plan.WhyNotReady): Unschedulable, ImagePullBackOff; empty when it
	// says nothing.
	NotReady string
	// InFlight is true for a pod of the batch being replaced, as the
	// planner says (plan.View.InFlight).
	InFlight bool
}

// Event is one Kubernetes Event about the rollout.
type Event struct {
	Type    string
	Reason  string
	Message string
	Count   int32
	// Last is when the event was last seen.
	Last time.Time
}

// Check is one check of a running analysis and what it measured.
type Check struct {
	// Name names the check and its analysis: "error-rate (step 2)".
	Name string
	// Measured counts the measurements that gave an answer; Failed and
	// Undecided (inconclusive or in error) are counted since the analysis
	// started.
	Measured, Failed, Undecided int32
	// Measurements are the last few, oldest first.
	Measurements []Measurement
}

// Measurement is one measurement of a check.
type Measurement struct {
	// Phase is Successful, Failed, Inconclusive or Error.
	Phase   string
	Value   string
	Message string
	At      time.Time
}

// Row is one rollout in a list: a row of `kubectl sroll list` and of the
// dashboard's list.
type Row struct {
	Namespace string
	Name      string
	// Phase is status.phase, "Unknown" before the operator wrote one.
	Phase string
	// Step is the step being worked on out of all of them ("2/5"), n/n
	// once the steps are done.
	Step                    string
	Updated, Ready, Desired int32
	Images                  []string
	Created                 time.Time
}

// Snapshot is what the screen shows of a snapshot set (a RolloutSnapshot).
type Snapshot struct {
	Name, Reason, Phase   string
	ReadyVolumes, Volumes int
	// Group names its VolumeGroupSnapshot; empty when it is one
	// VolumeSnapshot per claim.
	Group   string
	Created time.Time
	// Freeze is its members' freeze as a phrase ("frozen 1.2s",
	// "thawing 2/3"); empty when the set froze nothing.
	Freeze string
}

// Replication is where the replicated application stands: each member's
// role, a switchover or failover under way, the nodes being fenced.
type Replication struct {
	Phase, Message string
	// Promotion is a switchover or failover in progress, as one phrase
	// ("switchover from kv-0 to kv-1, promoted"); empty when none.
	Promotion string
	Members   []Member
	// Fencing is one line per node being fenced.
	Fencing []string
}

// Member is one replication member.
type Member struct {
	Name, Role, State string
	// Error is its last hook failure; empty when none.
	Error string
}
