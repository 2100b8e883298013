package cli

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
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
