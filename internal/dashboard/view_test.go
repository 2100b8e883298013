package dashboard

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/cli/render"
)

var now = time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)

// midRollout is a rollout of 4 pods paused at its pause step, half of
// them updated, read as the plugin reads it.
func midRollout() (*v1alpha1.StatefulSetRollout, render.Model) {
	r := &v1alpha1.StatefulSetRollout{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "kv", ResourceVersion: "812"}}
	m := render.Model{
		Name: "kv", Namespace: "shop", Phase: "Paused", Message: "step 2/3 (pause): paused, waiting for promote",
		Steps: []string{"50%", "pause", "100%"}, StepsEndAtFull: true, CurrentStep: 1,
		Stable:  render.Revision{Name: "kv-1", Number: 1, Images: []string{"kv:1.0"}},
		Update:  render.Revision{Name: "kv-2", Number: 2, Images: []string{"kv:1.1"}},
		Desired: 4, Counts: render.Counts{Live: 4, Updated: 2, UpdatedAvailable: 1, Ready: 3},
		Pods: []render.Pod{
			{Name: "kv-3", Ordinal: 3, Revision: "kv-2", Ready: true},
			{Name: "kv-10", Ordinal: 10, Revision: "kv-0", Ready: true},
			{Name: "kv-2", Ordinal: 2, Revision: "kv-2", NotReady: "ContainersNotReady", InFlight: true},
			{Name: "kv-0", Ordinal: 0, Revision: "kv-1", Ready: true},
			{Name: "kv-1", Ordinal: 1, Revision: "kv-1", Terminating: true},
		},
		Now: now,
	}
	for i := range 20 {
		m.Events = append(m.Events, render.Event{Type: "Normal", Reason: "BatchDeleted", Message: fmt.Sprintf("event %d", i), Count: 1, Last: now.Add(time.Duration(i) * time.Second)})
	}
	return r, m
}

func TestARolloutBecomesItsPage(t *testing.T) {
	r, m := midRollout()
	v := newRollout("prod", r, m)

	if v.Cluster != "prod" || v.ResourceVersion != "812" || v.Phase != "Paused" || v.Message != m.Message {
		t.Errorf("header: %+v", v)
	}
	wantSteps := []Step{{"50%", "done"}, {"pause", "current"}, {"100%", "to-come"}}
	if fmt.Sprint(v.Steps) != fmt.Sprint(wantSteps) {
		t.Errorf("steps %v, want %v", v.Steps, wantSteps)
	}
	if v.Progress != (Progress{Updated: 2, UpdatedAvailable: 1, Ready: 3, Live: 4}) || v.Desired != 4 {
		t.Errorf("progress %+v of %d", v.Progress, v.Desired)
	}
	if v.Stable.Name != "kv-1" || v.Update.Images[0] != "kv:1.1" {
		t.Errorf("revisions %+v → %+v", v.Stable, v.Update)
	}
	// By ordinal; the kind of revision gives the colour, the state the shape.
	var cells []string
	for _, p := range v.Pods {
		cells = append(cells, fmt.Sprintf("%s %s %s %s %t", p.Name, p.Kind, p.State, p.Why, p.InFlight))
	}
	want := []string{
		"kv-0 stable ready  false",
		"kv-1 stable terminating  false",
		"kv-2 update not-ready ContainersNotReady true",
		"kv-3 update ready  false",
		"kv-10 other ready  false",
	}
	if strings.Join(cells, "\n") != strings.Join(want, "\n") {
		t.Errorf("pods:\n%s\nwant:\n%s", strings.Join(cells, "\n"), strings.Join(want, "\n"))
	}
	if len(v.Events) != recentEvents || v.Events[0].Message != "event 19" || v.Events[recentEvents-1].Message != "event 5" {
		t.Errorf("events: %d, first %q, last %q; want the newest %d, newest first", len(v.Events), v.Events[0].Message, v.Events[len(v.Events)-1].Message, recentEvents)
	}
	// Absent concerns are empty lists (the page hides their sections) or,
	// for replication, absent.
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{`"analysis":[]`, `"snapshots":[]`} {
		if !strings.Contains(string(data), part) {
			t.Errorf("JSON lacks %s: %s", part, data)
		}
	}
	if strings.Contains(string(data), `"replication"`) {
		t.Errorf("a rollout without replication has a replication section: %s", data)
	}
}

func TestRolesAnalysisAndAnUnknownPhase(t *testing.T) {
	r, m := midRollout()
	m.Phase = ""
	seq := int64(7)
	r.Status.Replication = &v1alpha1.ReplicationStatus{
		Phase: "Running", Seed: "kv-0",
		Members: []v1alpha1.ReplicationMember{
			{Name: "kv-0", Role: v1alpha1.RolePrimary, State: v1alpha1.MemberRunning, Joined: true, Sequence: &seq},
			{Name: "kv-2", Role: v1alpha1.RoleSecondary, State: v1alpha1.MemberFailed, Joined: true, LastError: "status hook: exit 1"},
		},
	}
	r.Status.Analysis = []v1alpha1.CheckRecord{{
		Check: "errors", Step: 1, Count: 2, Successful: 1, Failed: 1,
		Measurements: []v1alpha1.Measurement{
			{Phase: "Successful", Value: "0.01", At: metav1.NewTime(now.Add(-time.Minute))},
			{Phase: "Failed", Value: "0.2", At: metav1.NewTime(now)},
		},
	}}
	v := newRollout("prod", r, m)

	if v.Phase != "Unknown" {
		t.Errorf("phase %q, want Unknown before the operator wrote one", v.Phase)
	}
	roles := map[string]string{}
	for _, p := range v.Pods {
		roles[p.Name] = p.Role
	}
	if roles["kv-0"] != "Primary" || roles["kv-2"] != "Secondary" || roles["kv-3"] != "" {
		t.Errorf("roles %v", roles)
	}
	if v.Replication == nil || v.Replication.Seed != "kv-0" || len(v.Replication.Members) != 2 ||
		v.Replication.Members[1] != (Member{Name: "kv-2", Role: "Secondary", State: "Failed", Joined: true, LastError: "status hook: exit 1"}) {
		t.Errorf("replication %+v", v.Replication)
	}
	if len(v.Analysis) != 1 || v.Analysis[0].Failed != 1 || len(v.Analysis[0].Measurements) != 2 || v.Analysis[0].Measurements[1].Value != "0.2" {
		t.Errorf("analysis %+v", v.Analysis)
	}
}

func TestSnapshotSetsNewestFirst(t *testing.T) {
	r, m := midRollout()
	m.Snapshots = []render.Snapshot{
		{Name: "kv-20261202-005500", Reason: "BeforeRollout", Phase: "Pending", ReadyVolumes: 2, Volumes: 4, Created: now.Add(-5 * time.Minute)},
		{Name: "kv-20261201-000000", Reason: "Scheduled", Phase: "Ready", ReadyVolumes: 4, Volumes: 4, Created: now.Add(-25 * time.Hour)},
	}
	v := newRollout("prod", r, m)

	want := []Snapshot{
		{Name: "kv-20261202-005500", Reason: "BeforeRollout", Phase: "Pending", ReadyVolumes: 2, Volumes: 4, Created: now.Add(-5 * time.Minute)},
		{Name: "kv-20261201-000000", Reason: "Scheduled", Phase: "Ready", ReadyVolumes: 4, Volumes: 4, Created: now.Add(-25 * time.Hour)},
	}
	if fmt.Sprint(v.Snapshots) != fmt.Sprint(want) {
		t.Errorf("snapshots %+v, want %+v", v.Snapshots, want)
	}
	data, err := json.Marshal(v.Snapshots[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := `{"name":"kv-20261202-005500","reason":"BeforeRollout","phase":"Pending","readyVolumes":2,"volumes":4,"created":"2026-12-02T00:55:00Z"}`; string(data) != got {
		t.Errorf("JSON %s, want %s", data, got)
	}
}

func TestNoticesMergeWhileAPageIsBusy(t *testing.T) {
	c := newChanges()
	key := Key{Cluster: "prod", Namespace: "shop", Name: "kv"}
	page, unsubscribe := c.subscribe(key)
	defer unsubscribe()
	list, unsubscribeList := c.subscribe(Key{})
	defer unsubscribeList()
	other, unsubscribeOther := c.subscribe(Key{Cluster: "prod", Namespace: "shop", Name: "db"})
	defer unsubscribeOther()
	for _, ch := range []<-chan struct{}{page, list, other} {
		<-ch // the first view's notice
	}

	for range 1000 {
		c.rolloutChanged(key, false) // a pod of kv changed
	}
	if n := len(page); n != 1 {
		t.Errorf("%d notices pending for kv's page, want 1 for 1000 changes", n)
	}
	if len(list) != 0 || len(other) != 0 {
		t.Errorf("a pod change reached the list (%d) or another rollout's page (%d)", len(list), len(other))
	}
	c.rolloutChanged(key, true) // kv itself changed
	if len(list) != 1 {
		t.Error("a change of the rollout did not reach the list")
	}
	c.clusterChanged("prod")
	if len(other) != 1 {
		t.Error("the cluster's change did not reach its pages")
	}
}

// The buttons are the plugin's actions, in its order, enabled only when
// it would carry them out, with its refusal as the reason.
func TestActionsBecomeButtons(t *testing.T) {
	r, m := midRollout()
	m.Actions = []render.ActionState{
		{Action: "pause"},
		{Action: "resume", Refusal: "kv is not paused by spec.paused: it waits in step 2/3 (pause); use promote to go on"},
		{Action: "promote"},
	}
	v := newRollout("prod", r, m)
	want := []Action{
		{Name: "pause", Applies: true},
		{Name: "resume", Reason: "kv is not paused by spec.paused: it waits in step 2/3 (pause); use promote to go on"},
		{Name: "promote", Applies: true},
	}
	if fmt.Sprint(v.Actions) != fmt.Sprint(want) {
		t.Errorf("actions %+v, want %+v", v.Actions, want)
	}
	data, err := json.Marshal(v.Actions[:2])
	if err != nil {
		t.Fatal(err)
	}
	if got := string(data); got != `[{"name":"pause","applies":true},{"name":"resume","applies":false,"reason":"kv is not paused by spec.paused: it waits in step 2/3 (pause); use promote to go on"}]` {
		t.Errorf("sent as %s", got)
	}
}
