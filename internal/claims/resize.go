// Package claims decides how a storage increase in a rollout's
// volumeClaimTemplates reaches the volumes. The StatefulSet API keeps its
// volumeClaimTemplates immutable and never changes an existing claim, so a
// larger size would be accepted and silently ignored. Instead sroll
//
//  1. records the sizes to reach (status.claimResize, step Expanding),
//  2. raises the request of each existing claim whose StorageClass allows
//     expansion (the CSI resizer does the rest),
//  3. once every such claim asks for the new size (step Replacing) and the
//     rollout is settled, deletes the StatefulSet with orphan propagation
//     (its pods and claims stay) and creates it again with the new
//     templates; it adopts the pods, which keep running,
//  4. clears the record once the StatefulSet carries the new sizes.
//
// Each step is recorded before it is carried out, so an operator killed at
// any point resumes. Decide is a pure function of what was observed.
package claims

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// Input is what one reconcile observed.
type Input struct {
	// StatefulSetName names the set and its claims (<template>-<set>-<ordinal>).
	StatefulSetName string
	// Wanted are the rollout's spec.volumeClaimTemplates.
	Wanted []corev1.PersistentVolumeClaim
	// Current are the StatefulSet's volumeClaimTemplates; nil with Exists
	// false while it is being replaced.
	Current []corev1.PersistentVolumeClaim
	Exists  bool
	// Claims are the PersistentVolumeClaims of the rollout's namespace.
	Claims []corev1.PersistentVolumeClaim
	// Expandable tells, per StorageClass name, whether it allows volume
	// expansion; a class it does not know does not.
	Expandable map[string]bool
	// Settled: the rollout moves no pods (Completed), so the StatefulSet
	// may be replaced.
	Settled bool
	// Recorded is status.claimResize.
	Recorded *v1alpha1.ClaimResize
}

// Expansion raises one claim's storage request.
type Expansion struct {
	Claim   string
	Storage resource.Quantity
}

// Decision says what to do, in this order: write Record to
// status.claimResize, patch the claims of Expand, then delete the
// StatefulSet with orphan propagation when Replace says so (the rollout's
// next reconcile creates it again).
type Decision struct {
	Record  *v1alpha1.ClaimResize
	Expand  []Expansion
	Replace bool
	// Fixed names claims that stay at their size: their StorageClass does
	// not allow expansion. For a Warning event.
	Fixed []string
	// Message says what the resize waits for; empty when none is going on.
	Message string
}

// Decide is the next step of a storage increase.
func Decide(in Input) Decision {
	record := in.Recorded
	if record == nil {
		grown := grownTemplates(in.Wanted, in.Current)
		if !in.Exists || len(grown) == 0 {
			return Decision{}
		}
		record = &v1alpha1.ClaimResize{Storage: grown, Step: v1alpha1.ClaimResizeExpanding}
	}
	record = record.DeepCopy()
	d := Decision{Record: record}
	if record.Step == v1alpha1.ClaimResizeExpanding {
		d.Expand, d.Fixed = expansions(in, record.Storage)
		if len(d.Expand) > 0 {
			d.Message = fmt.Sprintf("expanding %d volume claims", len(d.Expand))
			return d
		}
		record.Step = v1alpha1.ClaimResizeReplacing
	}
	switch {
	case !in.Exists:
		d.Message = "recreating the StatefulSet with the new volume claim templates"
	case sameStorage(in.Current, record.Storage):
		d.Record = nil // done
	case !in.Settled:
		d.Message = "the new volume claim templates wait for the rollout to settle"
	default:
		d.Replace = true
		d.Message = "replacing the StatefulSet with the new volume claim templates (its pods keep running)"
	}
	return d
}

// grownTemplates are the templates whose storage request is above the
// StatefulSet's, with the size to reach. CEL refuses every other change.
func grownTemplates(wanted, current []corev1.PersistentVolumeClaim) map[string]resource.Quantity {
	grown := map[string]resource.Quantity{}
	for _, w := range wanted {
		want, ok := w.Spec.Resources.Requests[corev1.ResourceStorage]
		if !ok {
			continue
		}
		for _, c := range current {
			if have, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]; c.Name == w.Name && ok && want.Cmp(have) > 0 {
				grown[w.Name] = want
			}
		}
	}
	if len(grown) == 0 {
		return nil
	}
	return grown
}

// expansions are the claims of the set, from the resized templates, that
// ask for less than the size to reach, sorted by name; and those that
// can't expand.
func expansions(in Input, storage map[string]resource.Quantity) (expand []Expansion, fixed []string) {
	for _, claim := range in.Claims {
		template, ok := templateOf(claim.Name, in.StatefulSetName)
		want, resized := storage[template]
		if !ok || !resized || claim.DeletionTimestamp != nil {
			continue
		}
		if have := claim.Spec.Resources.Requests[corev1.ResourceStorage]; have.Cmp(want) >= 0 {
			continue
		}
		if class := claim.Spec.StorageClassName; class == nil || !in.Expandable[*class] {
			fixed = append(fixed, claim.Name)
			continue
		}
		expand = append(expand, Expansion{Claim: claim.Name, Storage: want})
	}
	slices.SortFunc(expand, func(a, b Expansion) int { return strings.Compare(a.Claim, b.Claim) })
	slices.Sort(fixed)
	return expand, fixed
}

// templateOf is the template a claim of the StatefulSet set was made from:
// its name is <template>-<set>-<ordinal>.
func templateOf(claim, set string) (string, bool) {
	i := strings.LastIndex(claim, "-")
	if i < 0 {
		return "", false
	}
	if _, err := strconv.Atoi(claim[i+1:]); err != nil {
		return "", false
	}
	return strings.CutSuffix(claim[:i], "-"+set)
}

// sameStorage reports whether the StatefulSet's templates ask for the sizes
// of the record.
func sameStorage(current []corev1.PersistentVolumeClaim, storage map[string]resource.Quantity) bool {
	for name, want := range storage {
		i := slices.IndexFunc(current, func(c corev1.PersistentVolumeClaim) bool { return c.Name == name })
		if i < 0 {
			return false
		}
		if have := current[i].Spec.Resources.Requests[corev1.ResourceStorage]; have.Cmp(want) != 0 {
			return false
		}
	}
	return true
}
