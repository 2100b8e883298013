package plan

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/history"
)

// Rollback reasons recorded in status.rollbackReason.
const (
	RollbackAborted          = "Aborted"
	RollbackDeadlineExceeded = "ProgressDeadlineExceeded"
	RollbackAnalysisFailed   = "AnalysisFailed"
)

// decider carries one Decide call: the input, the status being built and the
// plan being filled in.
type decider struct {
	in       Input
	rollout  *v1alpha1.StatefulSetRollout
	steps    []v1alpha1.RolloutStep
	status   *v1alpha1.StatefulSetRolloutStatus
	previous v1alpha1.Phase
	plan     Plan
	now      time.Time
	replicas int32
	minReady time.Duration
	pods     pods
	// hold is why the rollout waits, once move decided it; nil while it moves.
	hold   *Hold
	timers []time.Duration
	// records are the analysis records the analyses judged this time; a
	// forward rollout keeps these alone in status (keepRecords).
	records []v1alpha1.CheckRecord
	// known is the StatefulSet's world once worldOf read it: move and
	// holdPartition both ask, and templateAhead decodes the history.
	known *knownWorld
}

type knownWorld struct {
	w  world
	ok bool
}

// Decide returns what to do next for one rollout. It reads nothing but its
// input, so the same world always gives the same plan.
func Decide(in Input) Plan {
	d := &decider{
		in:       in,
		rollout:  in.Rollout,
		steps:    in.Rollout.Spec.Rollout.StepsOrDefault(),
		now:      in.Now.Truncate(time.Second),
		replicas: in.Rollout.Spec.ReplicasOrDefault(),
		minReady: time.Duration(in.Rollout.Spec.MinReadySeconds) * time.Second,
	}
	d.plan.Status = *in.Rollout.Status.DeepCopy()
	d.plan.TargetReplicas = d.replicas
	d.status = &d.plan.Status
	d.previous = d.status.Phase
	d.pods = observePods(in.StatefulSet, in.Pods, d.replicas, d.now, d.minReady, in.Replication, in.Consul)
	if d.undo() {
		d.plan.View = d.view()
		return d.plan
	}

	d.startOnNewTemplate()
	d.liftRefusal()
	d.handleActions()
	d.move()
	d.holdOnRefusal()
	if d.hold == nil {
		d.hold = d.keptHold()
	}
	d.holdPartition()
	d.scaleDown()
	d.fillStatus()
	d.plan.RequeueAfter = d.nextTimer()
	d.plan.View = d.view()
	return d.plan
}

// scaleDown keeps the StatefulSet's replicas above the pods a scale-down
// removes until their handover is done (the StatefulSet controller removes
// the highest ordinals first, so every ordinal below the highest one still
// handing over stays too). A restore scales down to zero.
func (d *decider) scaleDown() {
	target := d.replicas
	if r := d.in.Restore; r != nil && r.ScaleDown {
		target = 0
	}
	d.plan.TargetReplicas, d.plan.Replicas = target, target
	gate := d.in.Replication
	if gate == nil {
		return
	}
	for _, p := range d.pods.list {
		if p.Ordinal >= target && !p.Terminating && !gate.Stopped(p.Ref.Name) {
			d.plan.Replicas = max(d.plan.Replicas, p.Ordinal+1)
			d.plan.Handover = append(d.plan.Handover, p.Ref.Name)
		}
	}
}

// view is what the plan shows of the rollout. Before the StatefulSet exists
// no pod is in flight: there is nothing to replace yet.
func (d *decider) view() View {
	v := View{Hold: d.hold}
	if d.in.StatefulSet != nil {
		v.InFlight = d.pods.inFlight(0, d.status.UpdateRevision, d.plan.Delete)
		v.Pods = d.pods.list
	}
	return v
}

// startOnNewTemplate restarts the rollout from step 0 when spec.template
// changed, towards the newest template; the stable revision stays the one
// every pod ran before.
func (d *decider) startOnNewTemplate() {
	hash := TemplateHash(&d.rollout.Spec.Template)
	if hash == d.status.TemplateHash {
		return
	}
	first := d.status.TemplateHash == ""
	if d.status.Phase == v1alpha1.PhaseCompleted {
		d.status.StableRevision = d.status.UpdateRevision
	}
	d.status.TemplateHash = hash
	d.status.UpdateRevision = ""
	d.status.RollbackReason = ""
	d.status.CurrentStepIndex = 0
	d.moving(v1alpha1.PhaseProgressing, d.status.Message)
	now := metav1.NewTime(d.now)
	d.status.StartedAt, d.status.StepStartedAt, d.status.ProgressedAt = &now, &now, &now
	if !first {
		d.event(corev1.EventTypeNormal, ReasonStepStarted, "New template: rollout starts at %s", d.stepName(0))
	}
}

// move decides the StatefulSet, the deletions and the phase.
func (d *decider) move() {
	wantHash, wantRevision := d.status.TemplateHash, ""
	if d.status.RollbackReason != "" {
		wantHash, wantRevision = RollbackHash(d.status.StableRevision), d.status.StableRevision
	}
	sts := d.in.StatefulSet
	if sts == nil {
		d.setTemplate(wantHash, wantRevision, d.replicas)
		d.moving(d.status.Phase, "creating the StatefulSet")
		return
	}
	hash, partition := sts.Annotations[v1alpha1.AnnotationTemplateHash], currentPartition(sts)
	if d.rollout.Spec.Paused {
		// Frozen: not even a new template reaches the StatefulSet.
		d.setTemplate(hash, "", partition)
		d.holdOn(HoldSpecPaused, "paused by spec.paused; set it to false to resume")
		if d.previous != v1alpha1.PhasePaused {
			d.event(corev1.EventTypeNormal, ReasonPaused, "Rollout paused by spec.paused")
		}
		return
	}
	if r := d.in.Restore; r != nil {
		d.setTemplate(hash, "", partition)
		d.holdOn(HoldRestore, r.Message)
		return
	}
	if hash != wantHash {
		if wantRevision == "" && d.heldBySnapshot() {
			// The StatefulSet keeps the template its pods run.
			d.setTemplate(hash, "", partition)
			return
		}
		d.setTemplate(wantHash, wantRevision, d.templatePartition(wantRevision != ""))
		d.waiting("writing the new template to the StatefulSet")
		return
	}
	d.setTemplate(wantHash, wantRevision, partition)
	w, ok := d.worldOf()
	if !ok {
		// Keep the message: it would flip to this and back around every
		// partition change, a status write each time for no news.
		d.waiting(d.status.Message)
		return
	}
	if w.target != revisionNotCreated {
		d.status.UpdateRevision = w.target
	}
	d.noteProgress(w.target)
	if d.status.StableRevision == "" && w.current != w.target {
		d.status.StableRevision = w.current
	}
	switch {
	case d.status.RollbackReason != "":
		d.rollBack(w)
	case d.status.Phase == v1alpha1.PhaseDegraded:
		// Held (keptHold): no partition change, no deletion; the message
		// still says why.
	case d.status.Phase == v1alpha1.PhaseCompleted:
		d.plan.Partition = 0
	default:
		d.forward(w)
	}
	d.timersForMinReady()
}

// noteProgress restarts the deadline when more updated pods are available
// than the last status said.
func (d *decider) noteProgress(target string) {
	var updatedAvailable int32
	for _, p := range d.pods.list {
		if p.Revision == target && p.Available {
			updatedAvailable++
		}
	}
	if updatedAvailable > d.in.Rollout.Status.UpdatedReadyReplicas {
		now := metav1.NewTime(d.now)
		d.status.ProgressedAt = &now
	}
}

// waiting keeps the phase of a rollout that moves but can't act this time.
func (d *decider) waiting(message string) {
	switch {
	case d.status.RollbackReason != "":
		// "rolling back to ...: why" says more than any wait.
		d.moving(v1alpha1.PhaseRollingBack, d.status.Message)
	case d.status.Phase == v1alpha1.PhasePaused && !d.inPauseStep():
		d.moving(v1alpha1.PhaseProgressing, message)
	default:
		d.moving(d.status.Phase, message)
	}
}

// templateObserved says whether the StatefulSet's status describes its
// template: the StatefulSet controller observed its latest generation, or at
// least its template, which its update revision then holds. In the second
// case the change it has yet to observe is a partition alone, and its
// status revisions hold: the planner need not wait for that controller's
// round trip after each batch, only after a new template.
func templateObserved(sts *appsv1.StatefulSet, revisions []appsv1.ControllerRevision) bool {
	if sts.Status.UpdateRevision == "" {
		return false
	}
	if sts.Status.ObservedGeneration >= sts.Generation {
		return true
	}
	rev := history.Find(revisions, sts.Status.UpdateRevision)
	if rev == nil {
		return false
	}
	template, err := history.Template(rev)
	return err == nil && equality.Semantic.DeepEqual(*template, sts.Spec.Template)
}

// worldOf is the StatefulSet's view of revisions, once the planner can know
// it: when the StatefulSet controller observed the template, its status
// says; before that, when the template is one this planner can place
// (templateAhead), the first batch need not wait for that controller's
// round trip. ok is false while the target is unknown. It is read once per
// decision.
func (d *decider) worldOf() (world, bool) {
	if d.known == nil {
		w, ok := d.readWorld(d.in.StatefulSet)
		d.known = &knownWorld{w, ok}
	}
	return d.known.w, d.known.ok
}

func (d *decider) readWorld(sts *appsv1.StatefulSet) (world, bool) {
	w := world{
		target:    sts.Status.UpdateRevision,
		current:   sts.Status.CurrentRevision,
		partition: currentPartition(sts),
	}
	if templateObserved(sts, d.in.History) {
		return w, true
	}
	target, ok := d.templateAhead(sts)
	w.target = target
	return w, ok
}

// revisionNotCreated is the target while the StatefulSet's template is new
// and its controller has not stored it as a ControllerRevision yet: no pod
// runs it, and no pod can carry this name (a label value has no spaces).
const revisionNotCreated = "(not created yet)"

// templateAhead is the revision the StatefulSet controller will update pods
// to once it observes the template the StatefulSet already carries: the
// revision of the history that holds that template (the controller reuses
// it, as in a rollback), else one it has yet to create. It answers only
// where no pod could be on a revision this planner does not know: the
// controller observed the StatefulSet before, every pod runs a revision of
// the history, and there are pods to replace. A new pod at a revision the
// history does not show yet (its ControllerRevision arrives on a separate
// watch) keeps the planner waiting, so it is never taken for an outdated one.
//
// Deleting before the StatefulSet controller observed the template is as
// safe as deleting before it observed a lowered partition (templateObserved):
// the template and the partition travel in one write, which the API server
// committed before any deletion, and that controller recreates a deleted pod
// from the StatefulSet as it is then.
func (d *decider) templateAhead(sts *appsv1.StatefulSet) (string, bool) {
	if sts.Status.CurrentRevision == "" || d.replicas == 0 || len(d.pods.list) == 0 ||
		d.status.Phase == v1alpha1.PhaseCompleted || d.status.Phase == v1alpha1.PhaseDegraded {
		return "", false
	}
	for _, p := range d.pods.list {
		if history.Find(d.in.History, p.Revision) == nil {
			return "", false
		}
	}
	for i := range d.in.History {
		template, err := history.Template(&d.in.History[i])
		if err != nil {
			return "", false
		}
		if equality.Semantic.DeepEqual(*template, sts.Spec.Template) {
			return d.in.History[i].Name, true
		}
	}
	return revisionNotCreated, true
}

// world is the StatefulSet's view of revisions (worldOf).
type world struct {
	// target is the revision pods move to: the StatefulSet's updateRevision,
	// or the one it will be (templateAhead).
	target string
	// current is the revision the StatefulSet recreates pods below the
	// partition at (its currentRevision).
	current string
	// partition is the StatefulSet's partition now.
	partition int32
}

// pin is the partition after authorising ordinals down to lowest. When pods
// below the partition come back at the target revision anyway, sroll keeps
// every pod pinned while pods are outdated, so the StatefulSet controller
// never replaces a pod on its own, and unpins once none is.
func (d *decider) pin(w world, lowest int32) int32 {
	if w.current == w.target {
		if d.pods.anyOutdated(w.target) {
			return d.replicas
		}
		return 0
	}
	return min(w.partition, lowest)
}

func (d *decider) setTemplate(hash, revision string, partition int32) {
	d.plan.TemplateHash, d.plan.TemplateRevision, d.plan.Partition = hash, revision, partition
}

func currentPartition(sts *appsv1.StatefulSet) int32 {
	ru := sts.Spec.UpdateStrategy.RollingUpdate
	if ru == nil || ru.Partition == nil {
		return 0
	}
	return *ru.Partition
}

func (d *decider) timersForMinReady() {
	if d.minReady == 0 {
		return
	}
	for _, p := range d.pods.list {
		if p.Ready && !p.Available {
			d.timer(p.ReadySince.Add(d.minReady).Sub(d.now))
		}
	}
}

func (d *decider) timer(after time.Duration) {
	if after > 0 {
		d.timers = append(d.timers, after)
	}
}

func (d *decider) nextTimer() time.Duration {
	var next time.Duration
	for _, t := range d.timers {
		if next == 0 || t < next {
			next = t
		}
	}
	return next
}
