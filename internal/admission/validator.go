// Package admission refuses at `kubectl apply` a StatefulSetRollout whose
// StatefulSet the API server would refuse, and keeps the serving
// certificate of the webhook that does it.
//
// CEL in the CRD checks the rollout's own fields; it cannot know what the
// StatefulSet API, its admission plugins and quotas accept for the embedded
// spec (a container named UPPER_case, a containerPort of 99999). The webhook
// asks the API server itself: a server-side dry-run of the StatefulSet the
// operator would write, whose errors it returns.
package admission

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/controller"
)

// Path is where the webhook server serves the validator; the
// ValidatingWebhookConfiguration of the chart and kustomize names it.
const Path = "/validate-sroll-dev-v1alpha1-statefulsetrollout"

// Validator dry-runs the StatefulSet a rollout asks for.
type Validator struct {
	// Client reads the rollout's StatefulSet and makes the dry-run writes.
	Client client.Client
}

var _ admission.Validator[*v1alpha1.StatefulSetRollout] = (*Validator)(nil)

// ValidateCreate dry-runs the creation of the rollout's StatefulSet.
func (v *Validator) ValidateCreate(ctx context.Context, rollout *v1alpha1.StatefulSetRollout) (admission.Warnings, error) {
	return v.validate(ctx, rollout)
}

// ValidateUpdate dry-runs the write of the new spec to the StatefulSet.
func (v *Validator) ValidateUpdate(ctx context.Context, _, rollout *v1alpha1.StatefulSetRollout) (admission.Warnings, error) {
	return v.validate(ctx, rollout)
}

// ValidateDelete allows every deletion.
func (v *Validator) ValidateDelete(context.Context, *v1alpha1.StatefulSetRollout) (admission.Warnings, error) {
	return nil, nil
}

// validate refuses the rollout when the API server refuses its
// StatefulSet for its content (invalid, forbidden by an admission plugin or
// a quota). When the answer says nothing about the content (the API server
// unreachable, a StatefulSet another controller owns), it allows the
// rollout with a warning: the operator reports a refused write in the
// rollout's status all the same.
func (v *Validator) validate(ctx context.Context, rollout *v1alpha1.StatefulSetRollout) (admission.Warnings, error) {
	if rollout.Name == "" {
		return nil, nil // generateName: the StatefulSet's name is not known yet
	}
	var existing appsv1.StatefulSet
	err := v.Client.Get(ctx, client.ObjectKeyFromObject(rollout), &existing)
	switch {
	case apierrors.IsNotFound(err):
		err = v.dryRunCreate(ctx, rollout)
	case err != nil:
		return warn(ctx, rollout, err), nil
	case !controller.Adoptable(&existing, rollout):
		return nil, nil // the operator refuses adoption and says so
	default:
		err = v.dryRunPatch(ctx, rollout, &existing)
	}
	if err == nil {
		return nil, nil
	}
	if controller.Refused(err) {
		return nil, fmt.Errorf("the StatefulSet this rollout writes is refused by the API server: %s", err.Error())
	}
	return warn(ctx, rollout, err), nil
}

func (v *Validator) dryRunCreate(ctx context.Context, rollout *v1alpha1.StatefulSetRollout) error {
	sts, err := controller.StatefulSetFor(rollout, nil)
	if err != nil {
		return err
	}
	// A rollout being created has no UID yet for the owner reference.
	sts.OwnerReferences = nil
	return v.Client.Create(ctx, sts, client.DryRunAll)
}

func (v *Validator) dryRunPatch(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, existing *appsv1.StatefulSet) error {
	sts, err := controller.StatefulSetFor(rollout, existing)
	if err != nil {
		return err
	}
	return v.Client.Patch(ctx, sts, client.MergeFrom(existing), client.DryRunAll)
}

func warn(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, err error) admission.Warnings {
	logf.FromContext(ctx).Info("Could not dry-run the rollout's StatefulSet", "rollout", client.ObjectKeyFromObject(rollout), "error", err.Error())
	return admission.Warnings{"sroll could not check the StatefulSet this rollout writes: " + err.Error()}
}
