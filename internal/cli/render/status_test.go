package render

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// tenPods is a rollout of 10 pods at its 60% step: four pods updated, one
// starting, one terminating, the rest stable.
func tenPods() Model {
	m := Model{
		Name:        "kv",
		Namespace:   "default",
		Phase:       "Progressing",
		Message:     "step 3/4 (60%): 4/6 pods updated and available, 2 in flight",
		Steps:       []string{"20%", "pause", "60%", "100%"},
		CurrentStep: 2,
		Stable:      Revision{Name: "kv-5d4f8b7c9", Number: 1, Images: []string{"registry.example/kv:1.0"}},
		Update:      Revision{Name: "kv-7c6b5a4d3", Number: 2, Images: []string{"registry.example/kv:1.1"}},
		Partition:   4,
		Desired:     10,
		Counts:      Counts{Live: 9, Updated: 5, UpdatedAvailable: 4, Ready: 8},
		Now:         now,
		Events: []Event{
			{Type: "Normal", Reason: "StepStarted", Message: "New template: rollout starts at step 1/4 (20%)", Last: now.Add(-3 * time.Minute)},
			{Type: "Normal", Reason: "BatchDeleted", Message: "Deleted 2 pods: kv-8, kv-9", Count: 1, Last: now.Add(-170 * time.Second)},
			{Type: "Normal", Reason: "Paused", Message: "step 2/4 (pause): paused, waiting for promote", Last: now.Add(-150 * time.Second)},
			{Type: "Warning", Reason: "ActionIgnored", Message: "Ignored retry in phase Paused: only a Degraded or Aborted rollout can be retried", Count: 2, Last: now.Add(-100 * time.Second)},
			{Type: "Normal", Reason: "Promoted", Message: "Promoted past step 2/4 (pause)", Last: now.Add(-40 * time.Second)},
			{Type: "Normal", Reason: "BatchDeleted", Message: "Deleted 2 pods: kv-4, kv-5", Last: now.Add(-5 * time.Second)},
		},
	}
	for ordinal := range 10 {
		p := Pod{Name: fmt.Sprintf("kv-%d", ordinal), Ordinal: ordinal, Revision: m.Stable.Name, Ready: true}
		switch {
		case ordinal >= 6:
			p.Revision = m.Update.Name
		case ordinal == 5:
			p.Revision, p.Ready, p.InFlight = m.Update.Name, false, true
		case ordinal == 4:
			p.Terminating, p.InFlight = true, true
		}
		m.Pods = append(m.Pods, p)
	}
	return m
}

// thousandPods is a rollout of 1000 pods in its 50% step with a batch of
// 100 in flight and three stable pods broken for unrelated reasons.
func thousandPods() Model {
	m := Model{
		Name:        "kv",
		Namespace:   "storage",
		Phase:       "Progressing",
		Message:     "step 3/4 (50%): 400/500 pods updated and available, 100 in flight",
		Steps:       []string{"10%", "pause", "50%"},
		CurrentStep: 2,
		Stable:      Revision{Name: "kv-5d4f8b7c9", Number: 7, Images: []string{"registry.example/kv:1.0", "registry.example/metrics:2.3"}},
		Update:      Revision{Name: "kv-7c6b5a4d3", Number: 8, Images: []string{"registry.example/kv:1.1", "registry.example/metrics:2.3"}},
		Partition:   500,
		Desired:     1000,
		Counts:      Counts{Live: 950, Updated: 450, UpdatedAvailable: 400, Ready: 897},
		Now:         now,
		Events: []Event{
			{Type: "Normal", Reason: "BatchDeleted", Message: "Deleted 100 pods: kv-500, kv-501, kv-502, kv-503, kv-504 and 95 more", Count: 4, Last: now.Add(-2 * time.Second)},
		},
	}
	broken := map[int]bool{17: true, 123: true, 256: true}
	for ordinal := range 1000 {
		p := Pod{Name: fmt.Sprintf("kv-%d", ordinal), Ordinal: ordinal, Revision: m.Update.Name, Ready: true}
		switch {
		case ordinal < 500:
			p.Revision, p.Ready = m.Stable.Name, !broken[ordinal]
			if broken[ordinal] {
				p.NotReady = "CrashLoopBackOff"
			}
		case ordinal < 520:
			p.Ready, p.InFlight, p.NotReady = false, true, "ImagePullBackOff"
		case ordinal < 550:
			p.Ready, p.InFlight = false, true
		case ordinal < 600:
			p.Revision, p.Terminating, p.InFlight = m.Stable.Name, true, true
		}
		m.Pods = append(m.Pods, p)
	}
	return m
}

func completed() Model {
	m := tenPods()
	m.Phase, m.Message, m.CurrentStep, m.Partition = "Completed", "every pod runs kv-7c6b5a4d3", 4, 0
	m.Stable = m.Update
	m.Counts = Counts{Live: 10, Updated: 10, UpdatedAvailable: 10, Ready: 10}
	for i := range m.Pods {
		m.Pods[i].Revision, m.Pods[i].Ready, m.Pods[i].Terminating, m.Pods[i].InFlight = m.Update.Name, true, false, false
	}
	m.Events = nil
	m.Snapshots = []Snapshot{
		{Name: "kv-20261122-095500", Reason: "BeforeRollout", Phase: "Ready", ReadyVolumes: 10, Volumes: 10, Created: now.Add(-5 * time.Minute), Freeze: "frozen 1.25s"},
		{Name: "kv-20261121-080000", Reason: "OnDemand", Phase: "Ready", ReadyVolumes: 10, Volumes: 10, Created: now.Add(-26 * time.Hour)},
	}
	return m
}

func degraded() Model {
	m := tenPods()
	m.Phase, m.Message = "Degraded", "no progress for 10m0s: not available: kv-5; kv-5: Unschedulable (0/3 nodes are available: 3 Insufficient memory.)"
	m.Pods[5].NotReady = "Unschedulable"
	m.Steps, m.StepsEndAtFull = []string{"20%", "pause", "60%"}, false
	m.Pods[4].Terminating, m.Pods[4].Revision, m.Pods[4].InFlight = false, m.Update.Name, false
	m.Counts = Counts{Live: 10, Updated: 6, UpdatedAvailable: 5, Ready: 9}
	return m
}

// replicated is a 3-member set in a rollout's switchover: kv-1 was just
// promoted, kv-0 waits to be replaced, kv-2's node is being fenced.
func replicated() Model {
	m := tenPods()
	m.Pods, m.Desired, m.Partition = m.Pods[:3], 3, 1
	m.Pods[1].Revision, m.Pods[2].Revision = m.Update.Name, m.Update.Name
	m.Counts = Counts{Live: 3, Updated: 2, UpdatedAvailable: 2, Ready: 3}
	m.Replication = &Replication{
		Phase: "Degraded", Message: "not every member runs: kv-0 handing the primary role to kv-1",
		Promotion: "switchover from kv-0 to kv-1, promoted 3s ago, waiting for its status hook as primary",
		Members: []Member{
			{Name: "kv-0", Role: "Secondary", State: "Running"},
			{Name: "kv-1", Role: "Primary", State: "Running"},
			{Name: "kv-2", Role: "Secondary", State: "Failed", Error: "its node node-2 is NotReady"},
		},
		Fencing: []string{"node-2 Refused (kv-2): the fencing webhook did not confirm: webhook answered 409 Conflict: node-2 still has power"},
	}
	return m
}

// analysing is tenPods in an analysis step, its background analysis
// running too.
func analysing() Model {
	m := tenPods()
	m.Message = "step 3/4 (analysis error-rate): measuring error-rate 3/6 measured, last 0.31 (Successful)"
	m.Steps = []string{"20%", "pause", "analysis error-rate", "100%"}
	m.Checks = []Check{
		{Name: "error-rate (step 3)", Measured: 3, Measurements: []Measurement{
			{Phase: "Successful", Value: "0.12", At: now.Add(-30 * time.Second)},
			{Phase: "Successful", Value: "0.2", At: now.Add(-20 * time.Second)},
			{Phase: "Successful", Value: "0.31", At: now.Add(-10 * time.Second)},
		}},
		{Name: "latency (background)", Measured: 1, Failed: 1, Undecided: 1, Measurements: []Measurement{
			{Phase: "Failed", Value: "812", At: now.Add(-60 * time.Second)},
			{Phase: "Error", At: now.Add(-5 * time.Second), Message: `query histogram_quantile(0.99, ...): Post "http://prometheus:9090/api/v1/query": connection refused`},
		}},
	}
	return m
}

func TestStatusGolden(t *testing.T) {
	for name, m := range map[string]Model{
		"analysis":   withFullSteps(analysing()),
		"replicated": withFullSteps(replicated()),
		"pods10":     withFullSteps(tenPods()),
		"pods1000":   thousandPods(),
		"completed":  withFullSteps(completed()),
		"degraded":   degraded(),
	} {
		t.Run(name, func(t *testing.T) {
			got := Status(m, Options{})
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/cli/render -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("status of %s differs from %s (go test -update rewrites it):\n%s", name, path, got)
			}
		})
	}
}

func withFullSteps(m Model) Model {
	m.StepsEndAtFull = true
	return m
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// Colour may only add escape codes: the text and the column alignment are
// the plain screen's.
func TestColourOnlyAddsEscapes(t *testing.T) {
	for _, m := range []Model{tenPods(), thousandPods(), degraded()} {
		coloured := Status(m, Options{Color: true})
		if !ansi.MatchString(coloured) {
			t.Fatalf("no colour in:\n%s", coloured)
		}
		if stripped, plain := ansi.ReplaceAllString(coloured, ""), Status(m, Options{}); stripped != plain {
			t.Errorf("coloured screen without escapes:\n%s\nplain screen:\n%s", stripped, plain)
		}
	}
}

func TestBarCells(t *testing.T) {
	for _, tc := range []struct{ n, total, want int }{
		{0, 10, 0}, {4, 10, 16}, {10, 10, 40}, {999, 1000, 39}, {12, 10, 40}, {3, 0, 0},
	} {
		if got := cells(tc.n, tc.total, 40); got != tc.want {
			t.Errorf("cells(%d, %d) = %d, want %d", tc.n, tc.total, got, tc.want)
		}
	}
}
