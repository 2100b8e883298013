package plan

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// TemplateHash names a pod template as the user wrote it. The API server
// defaults the StatefulSet's copy, so the two can't be compared field by
// field; the hash travels on the StatefulSet as an annotation instead.
func TemplateHash(t *corev1.PodTemplateSpec) string {
	data, err := json.Marshal(t)
	if err != nil {
		// A PodTemplateSpec always marshals; a failure here is a programming error.
		panic(fmt.Sprintf("marshal pod template: %v", err))
	}
	h := fnv.New64a()
	_, _ = h.Write(data)
	return strconv.FormatUint(h.Sum64(), 36)
}

// rollbackHash is the annotation value of a StatefulSet whose template was
// set back to the given revision.
func rollbackHash(revision string) string { return "revision/" + revision }

// UndoTarget resolves an undo request ("previous", "" or a revision number)
// against the StatefulSet history, as kubectl rollout undo does: "previous"
// is the newest revision other than the one pods are moving to.
func UndoTarget(revs []Revision, updateRevision, value string) (string, error) {
	sorted := append([]Revision(nil), revs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Number > sorted[j].Number })
	if value == "" || value == "previous" {
		for _, r := range sorted {
			if r.Name != updateRevision {
				return r.Name, nil
			}
		}
		return "", fmt.Errorf("no previous revision in the history")
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return "", fmt.Errorf("undo wants \"previous\" or a revision number, got %q", value)
	}
	for _, r := range sorted {
		if r.Number == n {
			return r.Name, nil
		}
	}
	return "", fmt.Errorf("revision %d is not in the history (kubectl sroll history lists it)", n)
}
