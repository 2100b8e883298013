package plan

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
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

// RollbackHash is the annotation value of a StatefulSet whose template was
// set back to the given revision.
func RollbackHash(revision string) string { return "revision/" + revision }
