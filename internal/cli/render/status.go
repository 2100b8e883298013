package render

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/sroll-dev/sroll/internal/names"
)

// Status draws the status screen of one rollout: where it stands, the
// steps, the two revisions, how far the pods are and what just happened.
func Status(m Model, o Options) string {
	var b strings.Builder
	o.header(&b, m)
	o.steps(&b, m)
	o.revisions(&b, m)
	o.progress(&b, m)
	o.podGroups(&b, m)
	o.replication(&b, m)
	o.checks(&b, m)
	o.events(&b, m)
	return b.String()
}

func (o Options) header(b *strings.Builder, m Model) {
	phase := m.Phase
	if phase == "" {
		phase = "Unknown"
	}
	var notes []string
	if m.Paused {
		notes = append(notes, "spec.paused")
	}
	if m.Outdated {
		notes = append(notes, "the operator has not seen the latest spec yet")
	}
	phaseCell := cell{phase, phaseColour(m.Phase)}
	if len(notes) > 0 {
		phaseCell.text += " (" + strings.Join(notes, "; ") + ")"
	}
	rows := [][]cell{
		{{"Name:", bold}, {m.Name, plain}},
		{{"Namespace:", bold}, {m.Namespace, plain}},
		{{"Phase:", bold}, phaseCell},
	}
	if m.Message != "" {
		rows = append(rows, []cell{{"Message:", bold}, {m.Message, plain}})
	}
	if len(m.Snapshots) > 0 {
		s := m.Snapshots[0]
		volumes := fmt.Sprintf("%d/%d volumes", s.ReadyVolumes, s.Volumes)
		if s.Group != "" {
			volumes += " in VolumeGroupSnapshot " + s.Group
		}
		if s.Freeze != "" {
			volumes += ", " + s.Freeze
		}
		rows = append(rows, []cell{{"Snapshot:", bold}, {fmt.Sprintf("%s %s (%s, %s, %s ago)", s.Name, s.Phase, s.Reason,
			volumes, duration.HumanDuration(m.Now.Sub(s.Created))), plain}})
	}
	o.table(b, "", rows)
}

// steps lists the steps with a mark: done, current, or to come.
func (o Options) steps(b *strings.Builder, m Model) {
	marks := map[StepState]cell{
		StepDone: {"✔", green}, StepCurrent: {"▶", cyan}, StepFailed: {"✘", red}, StepToCome: {" ", plain},
	}
	fmt.Fprintf(b, "\n%s\n", o.paint(bold, "Steps:"))
	for _, step := range Steps(m) {
		mark := marks[step.State]
		fmt.Fprintf(b, "  %s %s\n", o.paint(mark.colour, mark.text), step.Label)
	}
}

func (o Options) revisions(b *strings.Builder, m Model) {
	fmt.Fprintf(b, "\n%s\n", o.paint(bold, "Revisions:"))
	var rows [][]cell
	if m.Stable.Name != "" && m.Stable.Name == m.Update.Name {
		rows = append(rows, revisionRow("stable = update", m.Update))
	} else {
		rows = append(rows, revisionRow("stable", m.Stable), revisionRow("update", m.Update))
	}
	o.table(b, "  ", rows)
	fmt.Fprintf(b, "  partition %d: ordinals below it stay on the stable revision\n", m.Partition)
}

func revisionRow(role string, r Revision) []cell {
	if r.Name == "" {
		return []cell{{role, plain}, {"-", faint}, {"", plain}, {"not known yet", faint}}
	}
	number := ""
	if r.Number > 0 {
		number = fmt.Sprintf("revision %d", r.Number)
	}
	return []cell{{role, plain}, {r.Name, plain}, {number, plain}, {strings.Join(r.Images, ", "), plain}}
}

// progress draws the bar of updated pods (ready, then not ready yet) out of
// the desired replicas, and the batch in flight.
func (o Options) progress(b *strings.Builder, m Model) {
	c := m.Counts
	desired := max(int(m.Desired), int(c.Live))
	const width = 40
	readyCells := cells(int(c.UpdatedAvailable), desired, width)
	startingCells := cells(int(c.Updated), desired, width) - readyCells
	bar := o.paint(green, strings.Repeat("█", readyCells)) +
		o.paint(yellow, strings.Repeat("▒", startingCells)) +
		o.paint(faint, strings.Repeat("░", width-readyCells-startingCells))
	fmt.Fprintf(b, "\n%s  [%s]  %d/%d updated (%d ready), %d/%d pods ready\n",
		o.paint(bold, "Progress:"), bar, c.Updated, desired, c.UpdatedAvailable, c.Ready, desired)

	// The batch in flight: pods deleted and not gone yet, and the others
	// on their way to available.
	var starting, terminating []string
	for _, p := range byOrdinal(m.Pods) {
		switch {
		case p.Terminating:
			terminating = append(terminating, p.Name)
		case p.InFlight:
			starting = append(starting, p.Name)
		}
	}
	var parts []string
	if len(starting) > 0 {
		parts = append(parts, fmt.Sprintf("%d starting (%s)", len(starting), names.Summary(starting)))
	}
	if len(terminating) > 0 {
		parts = append(parts, fmt.Sprintf("%d terminating (%s)", len(terminating), names.Summary(terminating)))
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(b, "%s  %s\n", o.paint(bold, "In flight:"), strings.Join(parts, ", "))
}

// cells is the share of the bar n of total pods fill, rounded down so a bar
// is full only when every pod is there.
func cells(n, total, width int) int {
	if total == 0 {
		return 0
	}
	return min(n, total) * width / total
}

// replication shows each member's role and state, and a promotion or
// fencing under way.
func (o Options) replication(b *strings.Builder, m Model) {
	r := m.Replication
	if r == nil {
		return
	}
	phase := cell{r.Phase, plain}
	switch r.Phase {
	case "Healthy":
		phase.colour = green
	case "Degraded":
		phase.colour = red
	case "":
		phase = cell{"Unknown", plain}
	default:
		phase.colour = yellow
	}
	fmt.Fprintf(b, "\n%s  %s  %s\n", o.paint(bold, "Replication:"), o.paint(phase.colour, phase.text), r.Message)
	if r.Promotion != "" {
		fmt.Fprintf(b, "  %s\n", r.Promotion)
	}
	rows := [][]cell{{{"MEMBER", faint}, {"ROLE", faint}, {"STATE", faint}, {"LAST ERROR", faint}}}
	for _, member := range r.Members {
		role := cell{member.Role, plain}
		if member.Role == "Primary" {
			role.colour = bold
		}
		state := cell{member.State, plain}
		switch member.State {
		case "Running":
			state.colour = green
		case "Failed":
			state.colour = red
		}
		rows = append(rows, []cell{{member.Name, plain}, role, state, {member.Error, plain}})
	}
	o.table(b, "  ", rows)
	for _, line := range r.Fencing {
		fmt.Fprintf(b, "  %s %s\n", o.paint(yellow, "fencing"), line)
	}
}

// checks shows each running check's counts and its last measurements,
// newest last, each marked with its phase and, for the newest, its age.
func (o Options) checks(b *strings.Builder, m Model) {
	if len(m.Checks) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s\n", o.paint(bold, "Analysis:"))
	for _, c := range m.Checks {
		fmt.Fprintf(b, "  %s  %d measured, %d failed, %d inconclusive\n", c.Name, c.Measured, c.Failed, c.Undecided)
		if len(c.Measurements) == 0 {
			continue
		}
		var last []string
		for _, ms := range c.Measurements {
			value := ms.Value
			if value == "" {
				value = strings.ToLower(ms.Phase)
			}
			last = append(last, o.paint(measurementColour(ms.Phase), measurementMark(ms.Phase)+" "+value))
		}
		newest := c.Measurements[len(c.Measurements)-1]
		fmt.Fprintf(b, "    last: %s  (%s ago)\n", strings.Join(last, "  "), duration.HumanDuration(m.Now.Sub(newest.At)))
		if newest.Message != "" {
			fmt.Fprintf(b, "    %s\n", o.paint(faint, newest.Message))
		}
	}
}

func measurementMark(phase string) string {
	switch phase {
	case "Successful":
		return "✔"
	case "Failed":
		return "✘"
	}
	return "?"
}

func measurementColour(phase string) colour {
	switch phase {
	case "Successful":
		return green
	case "Failed":
		return red
	}
	return yellow
}

func (o Options) events(b *strings.Builder, m Model) {
	const shown = 5
	events := append([]Event(nil), m.Events...)
	sort.SliceStable(events, func(i, j int) bool { return events[i].Last.Before(events[j].Last) })
	if len(events) > shown {
		events = events[len(events)-shown:]
	}
	if len(events) == 0 {
		fmt.Fprintf(b, "\n%s  <none>\n", o.paint(bold, "Events:"))
		return
	}
	fmt.Fprintf(b, "\n%s\n", o.paint(bold, "Events:"))
	rows := [][]cell{{{"AGE", faint}, {"TYPE", faint}, {"REASON", faint}, {"MESSAGE", faint}}}
	for _, e := range events {
		age := duration.HumanDuration(m.Now.Sub(e.Last))
		if e.Count > 1 {
			age += fmt.Sprintf(" (x%d)", e.Count)
		}
		kind := cell{e.Type, plain}
		if e.Type == "Warning" {
			kind.colour = yellow
		}
		rows = append(rows, []cell{{age, plain}, kind, {e.Reason, plain}, {e.Message, plain}})
	}
	o.table(b, "  ", rows)
}
