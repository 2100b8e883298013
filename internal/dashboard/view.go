package dashboard

import (
	"sort"
	"time"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/cli/render"
)

// recentEvents is how many events a rollout page shows, newest first.
const recentEvents = 15

// Rollout is what the rollout page shows, sent whole on every change. It is
// the status screen's model (render.Model, read by the plugin) arranged for
// the page, plus what the screen leaves out: analysis records, replication
// members, snapshot sets.
type Rollout struct {
	Cluster         string `json:"cluster"`
	Namespace       string `json:"namespace"`
	Name            string `json:"name"`
	ResourceVersion string `json:"resourceVersion"`
	Phase           string `json:"phase"`
	Message         string `json:"message"`
	// Outdated: the operator has not seen the latest spec yet.
	Outdated bool     `json:"outdated"`
	Paused   bool     `json:"paused"`
	Steps    []Step   `json:"steps"`
	Stable   Revision `json:"stable"`
	Update   Revision `json:"update"`
	Desired  int32    `json:"desired"`
	Progress Progress `json:"progress"`
	// Pods are by ordinal.
	Pods        []Pod        `json:"pods"`
	Analysis    []Check      `json:"analysis"`
	Replication *Replication `json:"replication,omitempty"`
	// Snapshots are the rollout's snapshot sets, newest first; the page
	// shows the section only when there is one (never on a cluster that
	// does not serve the RolloutSnapshot kind).
	Snapshots []Snapshot `json:"snapshots"`
	Events    []Event    `json:"events"`
	// Actions are the toolbar's buttons, in order, each enabled only when
	// the plugin would carry it out now.
	Actions []Action `json:"actions"`
}

// Action is one button of the toolbar: it applies now, or Reason (the
// plugin's refusal, word for word) says why not. A page acting on an older
// view is still refused by the server (409) with the same words.
type Action struct {
	Name    string `json:"name"`
	Applies bool   `json:"applies"`
	Reason  string `json:"reason,omitempty"`
}

func actions(states []render.ActionState) []Action {
	out := make([]Action, 0, len(states))
	for _, s := range states {
		out = append(out, Action{Name: s.Action, Applies: s.Refusal == "", Reason: s.Refusal})
	}
	return out
}

// Step is one of the rollout's steps and where the rollout stands with it:
// done, current, failed or to-come (render.Steps, as the status screen has it).
type Step struct {
	Label string `json:"label"`
	State string `json:"state"`
}

func steps(m render.Model) []Step {
	var out []Step
	for _, s := range render.Steps(m) {
		out = append(out, Step{Label: s.Label, State: string(s.State)})
	}
	return out
}

// Revision is a StatefulSet revision with its images.
type Revision struct {
	Name   string   `json:"name"`
	Number int64    `json:"number"`
	Images []string `json:"images"`
}

// Progress is the bar: pods on the update revision, and of those the
// available ones, out of Desired; counted by the planner.
type Progress struct {
	Updated          int32 `json:"updated"`
	UpdatedAvailable int32 `json:"updatedAvailable"`
	Ready            int32 `json:"ready"`
	Live             int32 `json:"live"`
}

// Pod states, shown by shape as well as colour.
const (
	podReady       = "ready"
	podNotReady    = "not-ready"
	podTerminating = "terminating"
)

// Pod revision kinds: the colour of a cell.
const (
	revisionUpdate = "update"
	revisionStable = "stable"
	revisionOther  = "other"
)

// Pod is one cell of the pod grid.
type Pod struct {
	Name     string `json:"name"`
	Ordinal  int    `json:"ordinal"`
	Revision string `json:"revision"`
	// Kind is update, stable or other: which of the rollout's revisions it runs.
	Kind  string `json:"kind"`
	State string `json:"state"`
	// Why is the API's reason for a pod not Ready.
	Why      string `json:"why,omitempty"`
	InFlight bool   `json:"inFlight,omitempty"`
	// Role is the replication role when the rollout replicates.
	Role string `json:"role,omitempty"`
}

// Check is one analysis record: counts and the last measurements.
type Check struct {
	Check        string        `json:"check"`
	Background   bool          `json:"background"`
	Step         int32         `json:"step"`
	Count        int32         `json:"count"`
	Successful   int32         `json:"successful"`
	Failed       int32         `json:"failed"`
	Inconclusive int32         `json:"inconclusive"`
	Error        int32         `json:"error"`
	Measurements []Measurement `json:"measurements"`
}

// Measurement is one measurement of a check.
type Measurement struct {
	Phase   string    `json:"phase"`
	Value   string    `json:"value"`
	Message string    `json:"message,omitempty"`
	At      time.Time `json:"at"`
}

// Replication is the replication decider's record.
type Replication struct {
	Phase   string   `json:"phase"`
	Message string   `json:"message"`
	Seed    string   `json:"seed,omitempty"`
	Members []Member `json:"members"`
}

// Member is one replication member.
type Member struct {
	Name      string `json:"name"`
	Role      string `json:"role"`
	State     string `json:"state"`
	Joined    bool   `json:"joined"`
	LastError string `json:"lastError,omitempty"`
}

// Snapshot is a snapshot set of the rollout (a RolloutSnapshot).
type Snapshot struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
	Phase  string `json:"phase"`
	// ReadyVolumes of Volumes have a ready VolumeSnapshot.
	ReadyVolumes int `json:"readyVolumes"`
	Volumes      int `json:"volumes"`
	// Group names its VolumeGroupSnapshot; empty when it is none.
	Group   string    `json:"group,omitempty"`
	Created time.Time `json:"created"`
	// Freeze is its members' freeze as a phrase; empty without one.
	Freeze string `json:"freeze,omitempty"`
}

// Event is one Kubernetes Event about the rollout.
type Event struct {
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Count   int32     `json:"count"`
	Last    time.Time `json:"last"`
}

// newRollout arranges the model the plugin read of r for the page.
func newRollout(cluster string, r *v1alpha1.StatefulSetRollout, m render.Model) Rollout {
	v := Rollout{
		Cluster:         cluster,
		Namespace:       m.Namespace,
		Name:            m.Name,
		ResourceVersion: r.ResourceVersion,
		Phase:           m.Phase,
		Message:         m.Message,
		Outdated:        m.Outdated,
		Paused:          m.Paused,
		Steps:           steps(m),
		Stable:          Revision(m.Stable),
		Update:          Revision(m.Update),
		Desired:         m.Desired,
		Progress: Progress{
			Updated: m.Counts.Updated, UpdatedAvailable: m.Counts.UpdatedAvailable,
			Ready: m.Counts.Ready, Live: m.Counts.Live,
		},
		Pods:      pods(m, roles(r.Status.Replication)),
		Analysis:  checks(r.Status.Analysis),
		Snapshots: snapshots(m.Snapshots),
		Events:    events(m.Events),
		Actions:   actions(m.Actions),
	}
	if v.Phase == "" {
		v.Phase = "Unknown"
	}
	if rep := r.Status.Replication; rep != nil {
		v.Replication = &Replication{Phase: string(rep.Phase), Message: rep.Message, Seed: rep.Seed, Members: []Member{}}
		for _, m := range rep.Members {
			v.Replication.Members = append(v.Replication.Members, Member{
				Name: m.Name, Role: string(m.Role), State: string(m.State), Joined: m.Joined, LastError: m.LastError,
			})
		}
	}
	return v
}

func roles(rep *v1alpha1.ReplicationStatus) map[string]string {
	out := map[string]string{}
	if rep != nil {
		for _, m := range rep.Members {
			out[m.Name] = string(m.Role)
		}
	}
	return out
}

// pods are the grid's cells by ordinal; pods whose ordinal can't be read
// come last, by name.
func pods(m render.Model, roles map[string]string) []Pod {
	out := make([]Pod, 0, len(m.Pods))
	for _, p := range m.Pods {
		pod := Pod{
			Name: p.Name, Ordinal: p.Ordinal, Revision: p.Revision, Kind: revisionOther,
			State: podNotReady, Why: p.NotReady, InFlight: p.InFlight, Role: roles[p.Name],
		}
		switch {
		case p.Revision != "" && p.Revision == m.Update.Name:
			pod.Kind = revisionUpdate
		case p.Revision != "" && p.Revision == m.Stable.Name:
			pod.Kind = revisionStable
		}
		switch {
		case p.Terminating:
			pod.State = podTerminating
		case p.Ready:
			pod.State = podReady
		}
		out = append(out, pod)
	}
	sort.Slice(out, func(i, j int) bool {
		oi, oj := out[i].Ordinal, out[j].Ordinal
		if (oi < 0) != (oj < 0) {
			return oj < 0
		}
		if oi != oj {
			return oi < oj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func checks(records []v1alpha1.CheckRecord) []Check {
	out := make([]Check, 0, len(records))
	for _, r := range records {
		c := Check{
			Check: r.Check, Background: r.Background, Step: r.Step, Count: r.Count,
			Successful: r.Successful, Failed: r.Failed, Inconclusive: r.Inconclusive, Error: r.Error,
			Measurements: []Measurement{},
		}
		for _, m := range r.Measurements {
			c.Measurements = append(c.Measurements, Measurement{Phase: string(m.Phase), Value: m.Value, Message: m.Message, At: m.At.Time})
		}
		out = append(out, c)
	}
	return out
}

func snapshots(sets []render.Snapshot) []Snapshot {
	out := make([]Snapshot, 0, len(sets))
	for _, s := range sets {
		out = append(out, Snapshot(s))
	}
	return out
}

// events are the newest recentEvents, newest first.
func events(all []render.Event) []Event {
	sorted := append([]render.Event(nil), all...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Last.After(sorted[j].Last) })
	out := make([]Event, 0, min(len(sorted), recentEvents))
	for _, e := range sorted[:min(len(sorted), recentEvents)] {
		out = append(out, Event(e))
	}
	return out
}

// List is what the list page shows: every cluster, reachable or not, and
// the rollouts of those that are.
type List struct {
	Clusters []ClusterState `json:"clusters"`
	Rollouts []Row          `json:"rollouts"`
}

// ClusterState is one kubeconfig context as the dashboard reaches it.
type ClusterState struct {
	Name string `json:"name"`
	// State is connecting, ready or unreachable.
	State string `json:"state"`
	// Error is the last error reaching it, while not ready.
	Error string `json:"error,omitempty"`
}

// Row is one rollout of the list.
type Row struct {
	Cluster   string    `json:"cluster"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Phase     string    `json:"phase"`
	Step      string    `json:"step"`
	Updated   int32     `json:"updated"`
	Ready     int32     `json:"ready"`
	Desired   int32     `json:"desired"`
	Images    []string  `json:"images"`
	Created   time.Time `json:"created"`
}

func newRow(cluster string, r render.Row) Row {
	return Row{
		Cluster: cluster, Namespace: r.Namespace, Name: r.Name, Phase: r.Phase, Step: r.Step,
		Updated: r.Updated, Ready: r.Ready, Desired: r.Desired, Images: r.Images, Created: r.Created,
	}
}
