package plan

import (
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/event"
	"github.com/sroll-dev/sroll/internal/names"
)

// fillStatus writes the counts, the selector and the conditions, all derived
// from what was observed, so an unchanged world gives an unchanged status.
func (d *decider) fillStatus() {
	s := d.status
	s.ObservedGeneration = d.rollout.Generation
	s.Partition = d.plan.Partition
	if sel, err := metav1.LabelSelectorAsSelector(d.rollout.Spec.Selector); err == nil {
		s.Selector = sel.String()
	}
	s.Replicas, s.ReadyReplicas, s.UpdatedReplicas, s.UpdatedReadyReplicas = 0, 0, 0, 0
	for _, p := range d.pods.list {
		if p.Terminating {
			continue
		}
		s.Replicas++
		updated := p.Revision == s.UpdateRevision
		if updated {
			s.UpdatedReplicas++
		}
		if p.Ready {
			s.ReadyReplicas++
		}
		if updated && p.Available {
			s.UpdatedReadyReplicas++
		}
	}
	d.setConditions()
}

func (d *decider) setConditions() {
	s := d.status
	status, reason := d.progressing()
	d.condition(ConditionProgressing, status, reason, s.Message)

	budget := d.budget()
	available := d.replicas - d.pods.unavailable()
	if available >= d.replicas-budget {
		d.condition(ConditionAvailable, metav1.ConditionTrue, ReasonWithinBudget,
			fmt.Sprintf("%d of %d pods available, at least %d required", available, d.replicas, d.replicas-budget))
	} else {
		d.condition(ConditionAvailable, metav1.ConditionFalse, ReasonBudgetExceeded,
			fmt.Sprintf("%d of %d pods available, at least %d required", available, d.replicas, d.replicas-budget))
	}

	if d.rollout.Spec.PodManagementPolicy == appsv1.OrderedReadyPodManagement {
		d.condition(ConditionSerialBatches, metav1.ConditionTrue, ReasonOrderedReady,
			"podManagementPolicy OrderedReady makes the StatefulSet controller recreate a batch one pod at a time; use Parallel for parallel batches")
	} else {
		meta.RemoveStatusCondition(&s.Conditions, ConditionSerialBatches)
	}
}

func (d *decider) condition(kind string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&d.status.Conditions, metav1.Condition{
		Type:               kind,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: d.rollout.Generation,
		LastTransitionTime: metav1.NewTime(d.now),
	})
}

func (d *decider) event(kind, reason, format string, args ...any) {
	d.plan.Events = append(d.plan.Events, event.Event{Type: kind, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (d *decider) stepName(index int32) string { return StepName(d.steps, index) }

// progress says how far the step is, counting its pods from its goal up:
// those done and those in flight (the batch this plan deletes included).
// With none in flight and the step not done, the budget holds it.
func (d *decider) progress(goal int32, target string) {
	var updated int32
	for ordinal := goal; ordinal < d.replicas; ordinal++ {
		if p, _ := d.pods.at(ordinal); p.Revision == target && p.Available {
			updated++
		}
	}
	flying := d.pods.inFlight(goal, target, d.plan.Delete)
	inFlight := len(flying)
	want := d.replicas - goal
	msg := fmt.Sprintf("%s: %d/%d pods updated and available", d.stepName(d.status.CurrentStepIndex), updated, want)
	if d.status.StableRevision == "" {
		// A new StatefulSet: no revision to move from, so no step to name.
		msg = fmt.Sprintf("creating %s: %d/%d available", count(int(want), "pod"), updated, want)
	}
	if inFlight > 0 {
		msg += fmt.Sprintf(", %d in flight", inFlight)
		if why := d.pods.whyNotReady(d.pods.ordinalsOf(flying)); why != "" {
			msg += "; " + why
		}
	}
	if len(d.plan.Handover) > 0 {
		// Chosen for the batch, not deleted yet: not a wait for the budget.
		msg += "; " + handingOver(d.plan.Handover) + " before deletion"
	}
	if inFlight > 0 || len(d.plan.Handover) > 0 {
		d.moving(v1alpha1.PhaseProgressing, msg)
		return
	}
	d.holdOn(HoldBudget, msg+"; waiting for the disruption budget, "+d.stuckPods(target))
}

// handingOver is the batch handed over: "handing over kv-3, kv-4".
func handingOver(pods []string) string {
	sorted := slices.Clone(pods)
	slices.Sort(sorted)
	return "handing over " + names.Summary(sorted)
}

// stuckPods names the pods that keep a step from completing.
func (d *decider) stuckPods(target string) string {
	var stuck []string
	var unavailable []int32
	for ordinal := range d.replicas {
		p, ok := d.pods.at(ordinal)
		switch {
		case !ok:
			stuck = append(stuck, fmt.Sprintf("ordinal %d missing", ordinal))
		case !p.Available:
			stuck = append(stuck, p.Ref.Name)
			unavailable = append(unavailable, ordinal)
		}
	}
	if len(stuck) == 0 {
		return "every pod available"
	}
	slices.Sort(stuck)
	msg := "not available: " + names.Summary(stuck)
	if why := d.pods.whyNotReady(unavailable); why != "" {
		msg += "; " + why
	}
	return msg
}
