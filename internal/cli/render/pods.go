package render

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sroll-dev/sroll/internal/names"
)

// listAllUpTo is the most pods whose names are all listed; past it a group
// shows its count, and only not-ready groups name their first few pods.
const listAllUpTo = 20

// Pod states, in the order groups are listed; a pod not Ready for a reason
// the API gives is in a group of that reason, listed with the not ready.
const (
	stateReady       = "ready"
	stateNotReady    = "not ready"
	stateTerminating = "terminating"
)

type groupKey struct {
	role  string
	state string
}

// podGroups lists the pods by revision (update first) and readiness.
func (o Options) podGroups(b *strings.Builder, m Model) {
	if len(m.Pods) == 0 {
		fmt.Fprintf(b, "\n%s  <none>\n", o.paint(bold, "Pods:"))
		return
	}
	groups := map[groupKey][]string{}
	for _, p := range byOrdinal(m.Pods) {
		key := groupKey{role(m, p.Revision), state(p)}
		groups[key] = append(groups[key], p.Name)
	}
	keys := make([]groupKey, 0, len(groups))
	for key := range groups {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := roleRank(keys[i].role), roleRank(keys[j].role)
		if ri != rj {
			return ri < rj
		}
		if keys[i].role != keys[j].role {
			return keys[i].role < keys[j].role
		}
		if si, sj := stateRank(keys[i].state), stateRank(keys[j].state); si != sj {
			return si < sj
		}
		return keys[i].state < keys[j].state
	})

	collapse := len(m.Pods) > listAllUpTo
	rows := make([][]cell, 0, len(keys))
	for _, key := range keys {
		podNames := groups[key]
		var list string
		switch {
		case !collapse:
			list = strings.Join(podNames, ", ")
		case key.state != stateReady:
			list = names.Summary(podNames)
		}
		rows = append(rows, []cell{
			{key.role, plain},
			{key.state, stateColour(key.state)},
			{fmt.Sprint(len(podNames)), plain},
			{list, plain},
		})
	}
	fmt.Fprintf(b, "\n%s\n", o.paint(bold, "Pods:"))
	o.table(b, "  ", rows)
}

// role names a pod's revision by what it is to the rollout.
func role(m Model, revision string) string {
	switch {
	case revision == "":
		return "no revision"
	case revision == m.Update.Name && revision == m.Stable.Name:
		return "stable = update"
	case revision == m.Update.Name:
		return "update"
	case revision == m.Stable.Name:
		return "stable"
	}
	return revision
}

func roleRank(role string) int {
	switch role {
	case "stable = update", "update":
		return 0
	case "stable":
		return 1
	}
	return 2
}

func state(p Pod) string {
	switch {
	case p.Terminating:
		return stateTerminating
	case p.Ready:
		return stateReady
	case p.NotReady != "":
		return p.NotReady
	}
	return stateNotReady
}

func stateRank(s string) int {
	switch s {
	case stateReady:
		return 0
	case stateTerminating:
		return 2
	}
	return 1
}

func stateColour(s string) colour {
	switch s {
	case stateReady:
		return green
	case stateNotReady:
		return yellow
	case stateTerminating:
		return faint
	}
	return red // a reason the API gives
}

// byOrdinal sorts a copy of the pods by ordinal, then name.
func byOrdinal(pods []Pod) []Pod {
	sorted := append([]Pod(nil), pods...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Ordinal != sorted[j].Ordinal {
			return sorted[i].Ordinal < sorted[j].Ordinal
		}
		return sorted[i].Name < sorted[j].Name
	})
	return sorted
}
