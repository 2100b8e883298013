package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
)

// statefulSet reads the rollout's StatefulSet; nil before the operator
// created it.
func (s *session) statefulSet(ctx context.Context, r *v1alpha1.StatefulSetRollout) (*appsv1.StatefulSet, error) {
	var sts appsv1.StatefulSet
	err := s.Get(ctx, types.NamespacedName{Namespace: r.Namespace, Name: r.Name}, &sts)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get StatefulSet %s: %w", r.Name, err)
	}
	return &sts, nil
}

// history lists the StatefulSet's ControllerRevisions, oldest first: those
// its selector matches and it controls, as the StatefulSet controller counts them.
func (s *session) history(ctx context.Context, sts *appsv1.StatefulSet) ([]appsv1.ControllerRevision, error) {
	selector, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector of StatefulSet %s: %w", sts.Name, err)
	}
	var list appsv1.ControllerRevisionList
	if err := s.List(ctx, &list, client.InNamespace(sts.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
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

// planRevisions is the history as plan.UndoTarget, which the operator uses
// to resolve an undo, sees it.
func planRevisions(revisions []appsv1.ControllerRevision) []plan.Revision {
	out := make([]plan.Revision, 0, len(revisions))
	for _, rev := range revisions {
		out = append(out, plan.Revision{Name: rev.Name, Number: rev.Revision})
	}
	return out
}

// revisionImages lists the container images of the template a StatefulSet
// revision stores, a patch of the form {"spec":{"template":{...}}}. Nil when
// the revision can't be read.
func revisionImages(rev *appsv1.ControllerRevision) []string {
	var patch struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if json.Unmarshal(rev.Data.Raw, &patch) != nil {
		return nil
	}
	return images(&patch.Spec.Template.Spec)
}

func images(spec *corev1.PodSpec) []string {
	var out []string
	for _, c := range spec.Containers {
		out = append(out, c.Image)
	}
	return out
}
