package controller

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/internal/plan"
)

// listRevisions returns the StatefulSet's ControllerRevision history: the
// revisions its selector matches and it controls.
func (r *Reconciler) listRevisions(ctx context.Context, sts *appsv1.StatefulSet) ([]appsv1.ControllerRevision, error) {
	selector, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector of StatefulSet %s: %w", sts.Name, err)
	}
	var list appsv1.ControllerRevisionList
	if err := r.List(ctx, &list, client.InNamespace(sts.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, fmt.Errorf("list ControllerRevisions: %w", err)
	}
	owned := list.Items[:0]
	for _, rev := range list.Items {
		if metav1.IsControlledBy(&rev, sts) {
			owned = append(owned, rev)
		}
	}
	return owned, nil
}

// planRevisions is the history as the planner sees it.
func planRevisions(revisions []appsv1.ControllerRevision) []plan.Revision {
	out := make([]plan.Revision, 0, len(revisions))
	for _, rev := range revisions {
		out = append(out, plan.Revision{Name: rev.Name, Number: rev.Revision})
	}
	return out
}

func findRevision(revisions []appsv1.ControllerRevision, name string) *appsv1.ControllerRevision {
	for i := range revisions {
		if revisions[i].Name == name {
			return &revisions[i]
		}
	}
	return nil
}

// templateFromRevision decodes the pod template a StatefulSet revision
// stores. The StatefulSet controller keeps it as a strategic merge patch,
// {"spec":{"template":{...,"$patch":"replace"}}}; the "$patch" directive is
// not a template field and decoding drops it.
func templateFromRevision(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
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
