package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// sim is a small world for scenario tests: a rollout, its StatefulSet and
// pods, and a StatefulSet controller that behaves like the real one for
// partitions (pods below the partition come back at currentRevision, the
// others at updateRevision). Revisions are named after the image.
type sim struct {
	t       testing.TB
	rollout *v1alpha1.StatefulSetRollout
	sts     *appsv1.StatefulSet
	pods    map[int32]*corev1.Pod
	broken  map[types.UID]bool
	history []Revision
	now     time.Time
	last    Plan
	uid     int
}

func newSim(t testing.TB) *sim {
	return &sim{t: t, pods: map[int32]*corev1.Pod{}, broken: map[types.UID]bool{}, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

const simName = "kv"

func revisionOf(image string) string { return "kv-" + image }

func newRollout(replicas int32, image string) *v1alpha1.StatefulSetRollout {
	deadline := int32(600)
	maxUnavailable := intstr.FromString("25%")
	labels := map[string]string{"app": simName}
	return &v1alpha1.StatefulSetRollout{
		ObjectMeta: metav1.ObjectMeta{Name: simName, Namespace: "ns", Generation: 1, UID: "rollout-uid"},
		Spec: v1alpha1.StatefulSetRolloutSpec{
			StatefulSetSpec: appsv1.StatefulSetSpec{
				Replicas:            &replicas,
				Selector:            &metav1.LabelSelector{MatchLabels: labels},
				PodManagementPolicy: appsv1.ParallelPodManagement,
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
				},
			},
			Rollout: v1alpha1.RolloutStrategy{MaxUnavailable: &maxUnavailable, ProgressDeadlineSeconds: &deadline},
		},
	}
}

func (s *sim) input() Input {
	in := Input{Rollout: s.rollout.DeepCopy(), Revisions: append([]Revision(nil), s.history...), Now: s.now}
	if s.sts != nil {
		in.StatefulSet = s.sts.DeepCopy()
		// As the controller finds it: the update revision holds the
		// StatefulSet's template (a revision here is named after its image).
		in.TemplateObserved = s.sts.Status.UpdateRevision == revisionOf(s.sts.Spec.Template.Spec.Containers[0].Image)
		for _, ordinal := range s.ordinals() {
			in.Pods = append(in.Pods, *s.pods[ordinal].DeepCopy())
		}
	}
	return in
}

func (s *sim) ordinals() []int32 {
	var ordinals []int32
	for o := range s.pods {
		ordinals = append(ordinals, o)
	}
	sort.Slice(ordinals, func(i, j int) bool { return ordinals[i] < ordinals[j] })
	return ordinals
}

func (s *sim) plan() Plan {
	s.last = Decide(s.input())
	return s.last
}

// apply carries out the last plan as the controller does: status, then
// the StatefulSet, then deletions.
func (s *sim) apply() {
	p := s.last
	s.rollout.Status = *p.Status.DeepCopy()
	for _, key := range p.HandledActions {
		delete(s.rollout.Annotations, key)
	}
	if s.sts == nil {
		s.sts = &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: simName, Namespace: "ns", UID: "sts-uid", Annotations: map[string]string{}},
		}
	}
	image := s.rollout.Spec.Template.Spec.Containers[0].Image
	if p.TemplateRevision != "" {
		image = strings.TrimPrefix(p.TemplateRevision, simName+"-")
	}
	changed := false
	if s.sts.Annotations[v1alpha1.AnnotationTemplateHash] != p.TemplateHash {
		s.sts.Annotations[v1alpha1.AnnotationTemplateHash] = p.TemplateHash
		s.sts.Spec.Template = *s.rollout.Spec.Template.DeepCopy()
		s.sts.Spec.Template.Spec.Containers[0].Image = image
		changed = true
	}
	if currentPartition(s.sts) != p.Partition || s.sts.Spec.UpdateStrategy.RollingUpdate == nil {
		partition := p.Partition
		s.sts.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{
			Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &partition},
		}
		changed = true
	}
	if s.sts.Spec.Replicas == nil || *s.sts.Spec.Replicas != *s.rollout.Spec.Replicas {
		s.sts.Spec.Replicas = s.rollout.Spec.Replicas
		changed = true
	}
	if changed {
		s.sts.Generation++
	}
	for _, ref := range p.Delete {
		o, _ := podOrdinal(simName, ref.Name)
		pod, ok := s.pods[o]
		if !ok || pod.UID != ref.UID || pod.ResourceVersion != ref.ResourceVersion {
			s.t.Fatalf("plan deletes %s at a version that no longer exists", ref.Name)
		}
		if pod.DeletionTimestamp != nil {
			s.t.Fatalf("plan deletes %s twice", ref.Name)
		}
		now := metav1.NewTime(s.now)
		pod.DeletionTimestamp = &now
	}
}

// sync plays the StatefulSet controller for partition and pod creation.
func (s *sim) sync() {
	if s.sts == nil {
		return
	}
	st := &s.sts.Status
	st.ObservedGeneration = s.sts.Generation
	image := s.sts.Spec.Template.Spec.Containers[0].Image
	update := revisionOf(image)
	if st.UpdateRevision != update {
		st.UpdateRevision = update
		s.record(update)
	}
	if st.CurrentRevision == "" {
		st.CurrentRevision = update
	}
	replicas := *s.sts.Spec.Replicas
	for o, pod := range s.pods {
		if o >= replicas {
			delete(s.pods, o)
			continue
		}
		if pod.DeletionTimestamp != nil {
			delete(s.pods, o)
		}
	}
	partition := currentPartition(s.sts)
	for o := range replicas {
		if _, ok := s.pods[o]; ok {
			continue
		}
		rev := st.CurrentRevision
		if o >= partition {
			rev = update
		}
		s.pods[o] = s.newPod(o, rev)
	}
	allUpdated := true
	for _, pod := range s.pods {
		if pod.Labels[appsv1.ControllerRevisionHashLabelKey] != update || readySince(pod).IsZero() {
			allUpdated = false
		}
	}
	if allUpdated {
		st.CurrentRevision = update
	}
}

func (s *sim) record(rev string) {
	for i, r := range s.history {
		if r.Name == rev {
			s.history[i].Number = s.nextRevisionNumber()
			return
		}
	}
	s.history = append(s.history, Revision{Name: rev, Number: s.nextRevisionNumber()})
}

func (s *sim) nextRevisionNumber() int64 {
	var n int64
	for _, r := range s.history {
		n = max(n, r.Number)
	}
	return n + 1
}

func (s *sim) newPod(o int32, rev string) *corev1.Pod {
	s.uid++
	controller := true
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: fmt.Sprintf("%s-%d", simName, o), Namespace: "ns",
		UID: types.UID(fmt.Sprintf("uid-%d", s.uid)), ResourceVersion: strconv.Itoa(s.uid),
		Labels:          map[string]string{appsv1.ControllerRevisionHashLabelKey: rev},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: simName, UID: "sts-uid", Controller: &controller}},
	}}
}

func (s *sim) setReady(o int32, ready bool) {
	pod := s.pods[o]
	pod.Status.Conditions = nil
	if ready {
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(s.now)}}
	}
	s.uid++
	pod.ResourceVersion = strconv.Itoa(s.uid)
}

// readyAll makes every pod that can be Ready so: not broken by hand and not
// running an image whose name starts with "broken".
func (s *sim) readyAll() {
	for o, pod := range s.pods {
		if s.broken[pod.UID] || strings.HasPrefix(pod.Labels[appsv1.ControllerRevisionHashLabelKey], revisionOf("broken")) || pod.DeletionTimestamp != nil {
			continue
		}
		if readySince(pod).IsZero() {
			s.setReady(o, true)
		}
	}
}

// podKey is a pod as scenario output shows it: "v2:notready".
func podKey(pod *corev1.Pod) string {
	state := "ready"
	switch {
	case pod.DeletionTimestamp != nil:
		state = "terminating"
	case readySince(pod).IsZero():
		state = "notready"
	}
	return strings.TrimPrefix(pod.Labels[appsv1.ControllerRevisionHashLabelKey], simName+"-") + ":" + state
}

// summary groups consecutive pods with the same revision and state.
func (s *sim) podsSummary() string {
	var groups []string
	var lastKey string
	var from, to int32 = -1, -1
	flush := func() {
		if from < 0 {
			return
		}
		r := strconv.Itoa(int(from))
		if to != from {
			r += "-" + strconv.Itoa(int(to))
		}
		groups = append(groups, r+"="+lastKey)
	}
	for _, o := range s.ordinals() {
		key := podKey(s.pods[o])
		if key == lastKey && o == to+1 {
			to = o
			continue
		}
		flush()
		lastKey, from, to = key, o, o
	}
	flush()
	if len(groups) == 0 {
		return "none"
	}
	return strings.Join(groups, " ")
}

func (p Plan) String() string {
	var b strings.Builder
	st := p.Status
	fmt.Fprintf(&b, "phase=%s step=%d partition=%d stable=%s update=%s\n", st.Phase, st.CurrentStepIndex, p.Partition, st.StableRevision, st.UpdateRevision)
	if p.TemplateRevision != "" {
		fmt.Fprintf(&b, "template: revision %s\n", p.TemplateRevision)
	}
	if len(p.Delete) > 0 {
		names := make([]string, 0, len(p.Delete))
		for _, d := range p.Delete {
			names = append(names, d.Name)
		}
		fmt.Fprintf(&b, "delete: %s\n", strings.Join(names, " "))
	}
	for _, e := range p.Events {
		fmt.Fprintf(&b, "event: %s %s: %s\n", e.Type, e.Reason, e.Message)
	}
	if p.RequeueAfter > 0 {
		fmt.Fprintf(&b, "requeue: %s\n", p.RequeueAfter)
	}
	fmt.Fprintf(&b, "message: %s\n", st.Message)
	return b.String()
}
