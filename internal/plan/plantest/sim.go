// Package plantest is the simulated world the planner's scenario scripts run
// in: a rollout, its StatefulSet, pods and revision history, a StatefulSet
// controller that treats the partition as the real one does, and the
// controller's apply order. Deciders other than the rollout planner
// (replication, snapshots, analysis) drive the same simulated StatefulSet
// through Walk's extra command families, so scenarios that cross concerns
// run in one world (raft's rafttest is the model).
package plantest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/consul"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/replication"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

// Name is the simulated rollout's, its StatefulSet's and its pods' prefix.
const Name = "kv"

// Start is the simulated clock at the start of every scenario.
var Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// RevisionOf names the revision of an image: revisions are named after the
// image, so scenario output reads "v2:ready".
func RevisionOf(image string) string { return Name + "-" + image }

// Sim is one simulated world. Commands change it; Plan asks the planner,
// Apply carries the plan out as the controller does and Sync plays the
// StatefulSet controller.
type Sim struct {
	t       testing.TB
	Rollout *v1alpha1.StatefulSetRollout
	sts     *appsv1.StatefulSet
	pods    map[int32]*corev1.Pod
	broken  map[types.UID]bool
	history []appsv1.ControllerRevision
	Now     time.Time
	last    plan.Plan
	// lastInput is what the last plan was decided from.
	lastInput plan.Input
	// consul is the simulated Consul; nil without spec.rollout.consul.
	consul *simConsul
	uid    int
	// refusal is what the API server answers a StatefulSet write while it
	// refuses one ("" accepts); refused is the controller's memory of the
	// last refused write: its message, for the rollout generation it was
	// refused at.
	refusal string
	refused struct {
		message    string
		generation int64
	}
	// Sets are the rollout's snapshot sets; snapshots is the snapshot
	// decider's answer for the last Input (see snapshot_commands.go).
	Sets      []v1alpha1.RolloutSnapshot
	snapshots snapshot.Decision
	// groups is the cluster's offer of group snapshots (group_commands.go).
	groups simGroups
	// gate is the MaxUnavailableStatefulSet feature gate of the API server
	// and the StatefulSet controller: on, the API server keeps the
	// StatefulSet's maxUnavailable and Sync plays that controller's gated
	// rolling update; off, it drops the field and Sync plays the legacy one.
	gate bool
	// KcmDeleted are the pods the simulated StatefulSet controller deleted
	// (rollingUpdate) since a command last reported them.
	KcmDeleted []string
	// stsWrites counts the StatefulSet writes Apply made (writes prints it).
	stsWrites int
}

// NewSim is an empty world: no rollout yet (the rollout command makes one).
func NewSim(t testing.TB) *Sim {
	return &Sim{t: t, pods: map[int32]*corev1.Pod{}, broken: map[types.UID]bool{}, Now: Start}
}

// NewRollout is a rollout of replicas pods of image, Parallel, with a 25%
// budget and a 600 s deadline set explicitly, as the API server defaults them.
func NewRollout(replicas int32, image string) *v1alpha1.StatefulSetRollout {
	deadline := int32(v1alpha1.DefaultProgressDeadlineSeconds)
	maxUnavailable := intstr.FromString(v1alpha1.DefaultMaxUnavailable)
	labels := map[string]string{"app": Name}
	return &v1alpha1.StatefulSetRollout{
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: "ns", Generation: 1, UID: "rollout-uid"},
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

// Input is the world as the controller would read it.
func (s *Sim) Input() plan.Input {
	in := plan.Input{Rollout: s.Rollout.DeepCopy(), Now: s.Now}
	if s.refused.generation == s.Rollout.Generation {
		in.Refused = s.refused.message
	}
	for i := range s.history {
		in.History = append(in.History, *s.history[i].DeepCopy())
	}
	var pods []*corev1.Pod
	if s.sts != nil {
		in.StatefulSet = s.sts.DeepCopy()
		pods = s.Pods()
		in.Pods = plan.FactsOfEach(pods)
	}
	in.Replication = replication.NewGate(in.Rollout, pods)
	in.Snapshot = s.decideSnapshots(in)
	if s.consul != nil {
		in.Consul = consul.NewGate(in.Rollout, s.consul.observation(s), pods, s.Now)
	}
	return in
}

// Pods are copies of the StatefulSet's pods, lowest ordinal first, as the
// controller would read them.
func (s *Sim) Pods() []*corev1.Pod {
	var pods []*corev1.Pod
	for _, ordinal := range s.ordinals() {
		pods = append(pods, s.pods[ordinal].DeepCopy())
	}
	return pods
}

func (s *Sim) ordinals() []int32 {
	var ordinals []int32
	for o := range s.pods {
		ordinals = append(ordinals, o)
	}
	sort.Slice(ordinals, func(i, j int) bool { return ordinals[i] < ordinals[j] })
	return ordinals
}

// Plan asks the planner what to do in the world as it is.
func (s *Sim) Plan() plan.Plan {
	s.lastInput = s.Input()
	s.last = plan.Decide(s.lastInput)
	return s.last
}

// Step is one reconcile and the StatefulSet controller's sync after it: the
// scenarios' step command.
func (s *Sim) Step() plan.Plan {
	p := s.Plan()
	s.Apply()
	s.Sync()
	return p
}

// Round is a Step, then every pod that can be Ready is: one turn of the
// scenarios' run command.
func (s *Sim) Round() plan.Plan {
	p := s.Step()
	s.ReadyAll()
	return p
}

// SetImage is a new release: the rollout's image, in a new generation.
func (s *Sim) SetImage(image string) {
	s.Rollout.Spec.Template.Spec.Containers[0].Image = image
	s.Rollout.Generation++
}

// Apply carries out the last plan as the controller does: an undo alone,
// or the status, then the StatefulSet, then deletions.
func (s *Sim) Apply() {
	p := s.last
	if p.Undo != nil {
		delete(s.Rollout.Annotations, v1alpha1.AnnotationUndo)
		if p.Undo.Template != nil {
			s.Rollout.Spec.Template = *p.Undo.Template.DeepCopy()
			s.Rollout.Generation++
		}
		return
	}
	s.Rollout.Status = *p.Status.DeepCopy()
	s.applySnapshots()
	for _, key := range p.HandledActions {
		delete(s.Rollout.Annotations, key)
	}
	if s.refusal != "" {
		// The StatefulSet write is refused, and nothing after it happens.
		s.refused.message, s.refused.generation = s.refusal, s.Rollout.Generation
		return
	}
	s.refused.message, s.refused.generation = "", 0
	if s.sts == nil {
		s.sts = &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: "ns", UID: "sts-uid", Annotations: map[string]string{}},
		}
	}
	image := s.Rollout.Spec.Template.Spec.Containers[0].Image
	if p.TemplateRevision != "" {
		image = strings.TrimPrefix(p.TemplateRevision, Name+"-")
	}
	changed := false
	if s.sts.Annotations[v1alpha1.AnnotationTemplateHash] != p.TemplateHash {
		s.sts.Annotations[v1alpha1.AnnotationTemplateHash] = p.TemplateHash
		s.sts.Spec.Template = *s.Rollout.Spec.Template.DeepCopy()
		s.sts.Spec.Template.Spec.Containers[0].Image = image
		changed = true
	}
	if partition(s.sts) != p.Partition || s.sts.Spec.UpdateStrategy.RollingUpdate == nil {
		pin := p.Partition
		s.sts.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{
			Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &pin},
		}
		if s.gate {
			// The operator writes maxUnavailable 1; the API server keeps
			// it only with the gate on.
			one := intstr.FromInt32(1)
			s.sts.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &one
		}
		changed = true
	}
	if s.sts.Spec.Replicas == nil || *s.sts.Spec.Replicas != p.Replicas {
		replicas := p.Replicas
		s.sts.Spec.Replicas = &replicas
		changed = true
	}
	if changed {
		s.sts.Generation++
		s.stsWrites++
	}
	for _, ref := range p.Delete {
		pod, ok := s.pods[ordinal(ref.Name)]
		if !ok || pod.UID != ref.UID || pod.ResourceVersion != ref.ResourceVersion {
			s.t.Fatalf("plan deletes %s at a version that no longer exists", ref.Name)
		}
		if pod.DeletionTimestamp != nil {
			s.t.Fatalf("plan deletes %s twice", ref.Name)
		}
		now := metav1.NewTime(s.Now)
		pod.DeletionTimestamp = &now
	}
	if s.consul != nil {
		s.consul.watch(s, s.lastInput, p)
	}
}

// Sync plays the StatefulSet controller for partition and pod creation:
// pods below the partition come back at currentRevision, the others at
// updateRevision.
func (s *Sim) Sync() {
	if s.sts == nil {
		return
	}
	st := &s.sts.Status
	st.ObservedGeneration = s.sts.Generation
	image := s.sts.Spec.Template.Spec.Containers[0].Image
	update := RevisionOf(image)
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
	pin := partition(s.sts)
	for o := range replicas {
		if _, ok := s.pods[o]; ok {
			continue
		}
		rev := st.CurrentRevision
		if o >= pin {
			rev = update
		}
		s.pods[o] = s.NewPod(o, rev)
	}
	s.rollingUpdate(update)
	allUpdated := true
	for _, pod := range s.pods {
		if pod.Labels[appsv1.ControllerRevisionHashLabelKey] != update || !plan.PodReady(pod) {
			allUpdated = false
		}
	}
	if allUpdated {
		st.CurrentRevision = update
	}
}

// rollingUpdate plays the StatefulSet controller's own rolling update,
// which deletes outdated pods at or above the partition. With the gate
// (maxUnavailable 1 kept on the StatefulSet) it deletes the highest one
// while no pod at all is unavailable; without, the highest one unless a
// pod above it is unavailable, whatever is broken below.
func (s *Sim) rollingUpdate(update string) {
	replicas, pin := *s.sts.Spec.Replicas, partition(s.sts)
	outdated := func(pod *corev1.Pod) bool {
		return pod.DeletionTimestamp == nil && pod.Labels[appsv1.ControllerRevisionHashLabelKey] != update
	}
	if s.sts.Spec.UpdateStrategy.RollingUpdate != nil && s.sts.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable != nil {
		for o := range replicas {
			if s.unavailable(s.pods[o]) {
				return
			}
		}
		for o := replicas - 1; o >= pin; o-- {
			if outdated(s.pods[o]) {
				s.kcmDelete(o)
				return
			}
		}
		return
	}
	for o := replicas - 1; o >= pin; o-- {
		if outdated(s.pods[o]) {
			s.kcmDelete(o)
			return
		}
		if s.unavailable(s.pods[o]) {
			return
		}
	}
}

// unavailable is the StatefulSet controller's reading of a pod: not Ready
// for minReadySeconds, or terminating.
func (s *Sim) unavailable(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			minReady := time.Duration(s.Rollout.Spec.MinReadySeconds) * time.Second
			return pod.DeletionTimestamp != nil || s.Now.Before(c.LastTransitionTime.Add(minReady))
		}
	}
	return true
}

// kcmDelete is a deletion by the StatefulSet controller; KcmDeleted names
// the pods it deleted since the last look.
func (s *Sim) kcmDelete(o int32) {
	now := metav1.NewTime(s.Now)
	s.pods[o].DeletionTimestamp = &now
	s.KcmDeleted = append(s.KcmDeleted, s.pods[o].Name)
}

// record keeps the StatefulSet's template as a ControllerRevision, the way
// the StatefulSet controller stores it; a template it runs again gets the
// next number.
func (s *Sim) record(rev string) {
	for i, r := range s.history {
		if r.Name == rev {
			s.history[i].Revision = s.nextRevisionNumber()
			return
		}
	}
	data, err := json.Marshal(map[string]any{"spec": map[string]any{"template": s.sts.Spec.Template}})
	if err != nil {
		s.t.Fatal(err)
	}
	s.history = append(s.history, appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: rev, Namespace: "ns"},
		Data:       runtime.RawExtension{Raw: data},
		Revision:   s.nextRevisionNumber(),
	})
}

func (s *Sim) nextRevisionNumber() int64 {
	var n int64
	for _, r := range s.history {
		n = max(n, r.Revision)
	}
	return n + 1
}

// NewPod is a pod of the simulated StatefulSet at ordinal o and revision
// rev, not Ready, with a fresh UID and resourceVersion.
func (s *Sim) NewPod(o int32, rev string) *corev1.Pod {
	s.uid++
	controller := true
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: fmt.Sprintf("%s-%d", Name, o), Namespace: "ns",
		UID: types.UID(fmt.Sprintf("uid-%d", s.uid)), ResourceVersion: strconv.Itoa(s.uid),
		Labels:          map[string]string{appsv1.ControllerRevisionHashLabelKey: rev},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: Name, UID: "sts-uid", Controller: &controller}},
	}}
}

func (s *Sim) setReady(o int32, ready bool) {
	pod := s.pods[o]
	pod.Status.Conditions = nil
	if ready {
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(s.Now)}}
	}
	s.uid++
	pod.ResourceVersion = strconv.Itoa(s.uid)
}

// ReadyAll makes every pod that can be Ready so: not broken by hand and not
// running an image whose name starts with "broken".
func (s *Sim) ReadyAll() {
	for o, pod := range s.pods {
		if s.broken[pod.UID] || strings.HasPrefix(pod.Labels[appsv1.ControllerRevisionHashLabelKey], RevisionOf("broken")) || pod.DeletionTimestamp != nil {
			continue
		}
		if !plan.PodReady(pod) {
			s.setReady(o, true)
		}
	}
}

// partition is the StatefulSet's updateStrategy pin.
func partition(sts *appsv1.StatefulSet) int32 {
	ru := sts.Spec.UpdateStrategy.RollingUpdate
	if ru == nil || ru.Partition == nil {
		return 0
	}
	return *ru.Partition
}

// ordinal reads a simulated pod's ordinal from its name.
func ordinal(podName string) int32 {
	n, _ := strconv.Atoi(strings.TrimPrefix(podName, Name+"-"))
	return int32(n)
}

// Remove deletes the pod at ordinal o at once, as a force deletion does;
// Sync recreates it.
func (s *Sim) Remove(o int32) { delete(s.pods, o) }
