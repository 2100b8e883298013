package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/analysis"
	"github.com/sroll-dev/sroll/internal/cli/render"
	"github.com/sroll-dev/sroll/internal/history"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/replication"
)

// readModel reads one rollout's world into the status screen's model: the
// rollout, its StatefulSet's history, its pods and its events.
func (s *session) readModel(ctx context.Context, name string, now time.Time) (*v1alpha1.StatefulSetRollout, render.Model, error) {
	r, err := s.rollout(ctx, name)
	if err != nil {
		return nil, render.Model{}, err
	}
	all := steps(r)
	m := render.Model{
		Name:        r.Name,
		Namespace:   r.Namespace,
		Phase:       string(r.Status.Phase),
		Message:     r.Status.Message,
		Outdated:    r.Generation > r.Status.ObservedGeneration,
		Paused:      r.Spec.Paused,
		CurrentStep: int(r.Status.CurrentStepIndex),
		Partition:   r.Status.Partition,
		Desired:     r.Spec.ReplicasOrDefault(),
		Now:         now,
	}
	for _, step := range all {
		m.Steps = append(m.Steps, plan.StepLabel(step))
	}
	last := all[len(all)-1]
	m.StepsEndAtFull = last.Percent != nil && *last.Percent == 100

	var revisions []appsv1.ControllerRevision
	sts, err := s.statefulSet(ctx, r)
	if err != nil {
		return nil, render.Model{}, err
	}
	if sts != nil {
		if revisions, err = history.List(ctx, s, sts); err != nil {
			return nil, render.Model{}, err
		}
	}
	pods, err := s.pods(ctx, r)
	if err != nil {
		return nil, render.Model{}, err
	}
	m.Stable = modelRevision(r.Status.StableRevision, revisions, pods)
	m.Update = modelRevision(r.Status.UpdateRevision, revisions, pods)
	// The batch in flight and the counts are the planner's answer for the
	// world just read, as the operator and the notifier have it.
	p := plan.Decide(plan.Input{Rollout: r, StatefulSet: sts, Pods: plan.FactsOfEach(pods), Replication: replication.NewGate(r, pods), Now: now})
	m.Counts = render.Counts{
		Live: p.Status.Replicas, Updated: p.Status.UpdatedReplicas,
		UpdatedAvailable: p.Status.UpdatedReadyReplicas, Ready: p.Status.ReadyReplicas,
	}
	inFlight := map[string]bool{}
	for _, name := range p.View.InFlight {
		inFlight[name] = true
	}
	for _, pod := range pods {
		m.Pods = append(m.Pods, modelPod(r, pod, inFlight[pod.Name]))
	}
	m.Checks = modelChecks(r.Status.Analysis)
	m.Actions = standing{rollout: r, statefulSet: sts, revisions: revisions}.applicable()
	if m.Events, err = s.events(ctx, r); err != nil {
		return nil, render.Model{}, err
	}
	m.Replication = modelReplication(r, now)
	if len(r.Spec.VolumeClaimTemplates) > 0 {
		sets, err := s.sets(ctx, r.Name)
		if err != nil {
			return nil, render.Model{}, err
		}
		for _, set := range sets {
			phase := string(set.Status.Phase)
			if phase == "" {
				phase = "Unknown"
			}
			snap := render.Snapshot{Name: set.Name, Reason: string(set.Spec.Reason), Phase: phase,
				ReadyVolumes: int(set.Status.ReadyVolumes), Volumes: len(set.Status.Volumes), Created: set.CreationTimestamp.Time,
				Freeze: freezeSummary(&set)}
			if g := set.Status.Group; g != nil {
				snap.Group = g.VolumeGroupSnapshot
			}
			m.Snapshots = append(m.Snapshots, snap)
		}
	}
	return r, m, nil
}

// modelReplication is status.replication as the screen shows it.
func modelReplication(r *v1alpha1.StatefulSetRollout, now time.Time) *render.Replication {
	st := r.Status.Replication
	if r.Spec.Replication == nil || st == nil {
		return nil
	}
	out := &render.Replication{Phase: string(st.Phase), Message: st.Message}
	if p := st.Promotion; p != nil {
		out.Promotion = fmt.Sprintf("%s from %s to %s", strings.ToLower(string(p.Reason)), p.From, p.To)
		switch {
		case p.To == "":
			out.Promotion = fmt.Sprintf("%s from %s, asking the secondaries for their sequence", strings.ToLower(string(p.Reason)), p.From)
		case p.ConfirmedAt != nil:
			out.Promotion += ", confirmed " + duration.HumanDuration(now.Sub(p.ConfirmedAt.Time)) + " ago"
		case p.PromotedAt != nil:
			out.Promotion += ", promoted " + duration.HumanDuration(now.Sub(p.PromotedAt.Time)) + " ago, waiting for its status hook as primary"
		default:
			out.Promotion += ", running the promoting hook"
		}
	}
	for _, m := range st.Members {
		out.Members = append(out.Members, render.Member{Name: m.Name, Role: string(m.Role), State: string(m.State), Error: m.LastError})
	}
	for _, f := range st.Fencing {
		line := fmt.Sprintf("%s %s (%s)", f.Node, f.State, strings.Join(f.Members, ", "))
		if f.Tainted {
			line += ", tainted out of service"
		}
		if f.Message != "" {
			line += ": " + f.Message
		}
		out.Fencing = append(out.Fencing, line)
	}
	return out
}

func (s *session) pods(ctx context.Context, r *v1alpha1.StatefulSetRollout) ([]*corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(r.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector of %s: %w", r.Name, err)
	}
	var list corev1.PodList
	if err := s.List(ctx, &list, client.InNamespace(r.Namespace), client.MatchingLabelsSelector{Selector: selector}); err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	return plan.PodsOf(&list), nil
}

// modelRevision describes a revision by name. Its images come from the
// template the ControllerRevision stores, else from a pod running it.
func modelRevision(name string, revisions []appsv1.ControllerRevision, pods []*corev1.Pod) render.Revision {
	rev := render.Revision{Name: name}
	if name == "" {
		return rev
	}
	for i := range revisions {
		if revisions[i].Name == name {
			rev.Number = revisions[i].Revision
			rev.Images = history.Images(revisions, revisions[i].Name)
		}
	}
	for i := 0; rev.Images == nil && i < len(pods); i++ {
		if pods[i].Labels[appsv1.ControllerRevisionHashLabelKey] == name {
			rev.Images = history.ContainerImages(&pods[i].Spec)
		}
	}
	return rev
}

func modelPod(r *v1alpha1.StatefulSetRollout, p *corev1.Pod, inFlight bool) render.Pod {
	ordinal := -1
	if suffix, ok := strings.CutPrefix(p.Name, r.Name+"-"); ok {
		if n, err := strconv.Atoi(suffix); err == nil {
			ordinal = n
		}
	}
	return render.Pod{
		Name:        p.Name,
		Ordinal:     ordinal,
		Revision:    p.Labels[appsv1.ControllerRevisionHashLabelKey],
		Ready:       plan.PodReady(p),
		Terminating: p.DeletionTimestamp != nil,
		NotReady:    plan.WhyNotReady(p).Reason,
		InFlight:    inFlight,
	}
}

// events reads the events about this rollout (this incarnation of it: the
// UID tells a rollout from an older one of the same name).
func (s *session) events(ctx context.Context, r *v1alpha1.StatefulSetRollout) ([]render.Event, error) {
	var list corev1.EventList
	if err := s.List(ctx, &list, client.InNamespace(r.Namespace), client.MatchingFields{
		"involvedObject.kind": "StatefulSetRollout",
		"involvedObject.name": r.Name,
		"involvedObject.uid":  string(r.UID),
	}); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	out := make([]render.Event, 0, len(list.Items))
	for i := range list.Items {
		e := &list.Items[i]
		count := e.Count
		if e.Series != nil {
			count = e.Series.Count
		}
		out = append(out, render.Event{Type: e.Type, Reason: e.Reason, Message: e.Message, Count: count, Last: lastSeen(e)})
	}
	return out, nil
}

// lastSeen is when an event last happened. The operator records through the
// events.k8s.io API, whose events leave the core timestamps empty and count
// repeats in a series.
func lastSeen(e *corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// modelChecks are the running analyses' checks as the screen shows them.
func modelChecks(records []v1alpha1.CheckRecord) []render.Check {
	var checks []render.Check
	for _, rec := range records {
		c := render.Check{
			Name:     analysis.Name(rec.Check, rec.Background, rec.Step),
			Measured: rec.Count, Failed: rec.Failed, Undecided: rec.Inconclusive + rec.Error,
		}
		for _, m := range rec.Measurements {
			c.Measurements = append(c.Measurements, render.Measurement{Phase: string(m.Phase), Value: m.Value, Message: m.Message, At: m.At.Time})
		}
		checks = append(checks, c)
	}
	return checks
}
