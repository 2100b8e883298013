// Package history reads a StatefulSet's revision history: the
// ControllerRevisions the StatefulSet controller keeps, one per pod template
// it has run. The operator (rollback and undo templates, notification images)
// and the kubectl plugin (history, status) read it the same way.
package history

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// List returns the revisions of sts, oldest first: those its selector
// matches and it controls, as the StatefulSet controller counts them.
func List(ctx context.Context, reader client.Reader, sts *appsv1.StatefulSet) ([]appsv1.ControllerRevision, error) {
	selector, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector of StatefulSet %s: %w", sts.Name, err)
	}
	var list appsv1.ControllerRevisionList
	if err := reader.List(ctx, &list, client.InNamespace(sts.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, fmt.Errorf("list ControllerRevisions: %w", err)
	}
	var owned []appsv1.ControllerRevision
	for _, rev := range list.Items {
		if metav1.IsControlledBy(&rev, sts) {
			owned = append(owned, rev)
		}
	}
	sort.Slice(owned, func(i, j int) bool { return owned[i].Revision < owned[j].Revision })
	return owned, nil
}

// UndoTarget resolves an undo request ("previous", "" or a revision number)
// against the history, as kubectl rollout undo does: "previous" is the
// newest revision other than the one pods are moving to. The planner carries
// the request out; the plugin resolves it first to refuse what would fail.
func UndoTarget(revisions []appsv1.ControllerRevision, updateRevision, value string) (string, error) {
	newest := slices.Clone(revisions)
	slices.SortFunc(newest, func(a, b appsv1.ControllerRevision) int { return cmp.Compare(b.Revision, a.Revision) })
	if value == "" || value == "previous" {
		for _, rev := range newest {
			if rev.Name != updateRevision {
				return rev.Name, nil
			}
		}
		return "", fmt.Errorf("no previous revision in the history")
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return "", fmt.Errorf("undo wants \"previous\" or a revision number, got %q", value)
	}
	for _, rev := range newest {
		if rev.Revision == n {
			return rev.Name, nil
		}
	}
	return "", fmt.Errorf("revision %d is not in the history (kubectl sroll history lists it)", n)
}

// Find returns the revision called name; nil when the history has none.
func Find(revisions []appsv1.ControllerRevision, name string) *appsv1.ControllerRevision {
	for i := range revisions {
		if revisions[i].Name == name {
			return &revisions[i]
		}
	}
	return nil
}

// Template decodes the pod template a revision stores. The StatefulSet
// controller keeps it as a strategic merge patch,
// {"spec":{"template":{...,"$patch":"replace"}}}; the "$patch" directive is
// not a template field and decoding drops it.
func Template(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	if len(rev.Data.Raw) == 0 {
		return nil, fmt.Errorf("revision %s holds no data", rev.Name)
	}
	var patch struct {
		Spec struct {
			Template *corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data.Raw, &patch); err != nil {
		return nil, fmt.Errorf("decode revision %s: %w", rev.Name, err)
	}
	if patch.Spec.Template == nil {
		return nil, fmt.Errorf("revision %s holds no pod template", rev.Name)
	}
	return patch.Spec.Template, nil
}

// Images lists the container images of the revision called name, in
// container order; nil when the history doesn't have it or can't be read.
func Images(revisions []appsv1.ControllerRevision, name string) []string {
	rev := Find(revisions, name)
	if rev == nil {
		return nil
	}
	template, err := Template(rev)
	if err != nil {
		return nil
	}
	return ContainerImages(&template.Spec)
}

// ContainerImages lists a pod spec's container images, in order.
func ContainerImages(spec *corev1.PodSpec) []string {
	images := make([]string, 0, len(spec.Containers))
	for _, c := range spec.Containers {
		images = append(images, c.Image)
	}
	return images
}
