// Package history reads a StatefulSet's revision history: the
// ControllerRevisions the StatefulSet controller keeps, one per pod template
// it has run. The operator (rollback and undo templates, notification images)
// and the kubectl plugin (history, status) read it the same way.
package history

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/internal/plan"
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

// ForPlan is the history as the planner and plan.UndoTarget see it.
func ForPlan(revisions []appsv1.ControllerRevision) []plan.Revision {
	out := make([]plan.Revision, 0, len(revisions))
	for _, rev := range revisions {
		out = append(out, plan.Revision{Name: rev.Name, Number: rev.Revision})
	}
	return out
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
