package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/controller/controllertest"
)

func newRollout(name string, replicas int32, image string) *v1alpha1.StatefulSetRollout {
	labels := map[string]string{"app": name}
	return &v1alpha1.StatefulSetRollout{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID(name + "-uid")},
		Spec: v1alpha1.StatefulSetRolloutSpec{
			StatefulSetSpec: appsv1.StatefulSetSpec{
				Replicas:    ptr.To(replicas),
				ServiceName: name,
				Selector:    &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}},
				},
			},
		},
	}
}

// revisionOf stores template as the StatefulSet controller does: a strategic
// merge patch that replaces the template, labelled like the template.
func revisionOf(t *testing.T, sts *appsv1.StatefulSet, name string, number int64, template *corev1.PodTemplateSpec) appsv1.ControllerRevision {
	t.Helper()
	data, err := json.Marshal(template)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	fields["$patch"] = "replace"
	raw, err := json.Marshal(map[string]any{"spec": map[string]any{"template": fields}})
	if err != nil {
		t.Fatal(err)
	}
	return appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       sts.Namespace,
			Labels:          template.Labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))},
		},
		Data:     runtime.RawExtension{Raw: raw},
		Revision: number,
	}
}

// fixture is a reconciler on a fake client.
type fixture struct {
	r      *Reconciler
	writes *controllertest.Writes
	events *events.FakeRecorder
	clock  *clocktesting.FakeClock
}

func newFixture(t *testing.T, objects ...client.Object) *fixture {
	t.Helper()
	return newFixtureOn(t, fake.NewClientBuilder().WithObjects(objects...))
}

// newFixtureOn is newFixture on a fake client built from b.
func newFixtureOn(t *testing.T, b *fake.ClientBuilder) *fixture {
	t.Helper()
	c := b.WithScheme(NewScheme()).
		WithStatusSubresource(&v1alpha1.StatefulSetRollout{}).
		Build()
	writes := controllertest.RecordWrites(c)
	recorder := events.NewFakeRecorder(100)
	clock := clocktesting.NewFakeClock(metav1.Now().Rfc3339Copy().Time)
	return &fixture{
		r: &Reconciler{
			Client:     writes,
			LiveReader: c,
			Recorder:   recorder,
			Metrics:    NewMetrics(prometheus.NewRegistry()),
			Clock:      clock,
		},
		writes: writes,
		events: recorder,
		clock:  clock,
	}
}

// recorded drains the events recorded so far.
func (f *fixture) recorded() []string {
	var out []string
	for {
		select {
		case e := <-f.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// firstReleaseCompleted is the rollout kv of 4 pods of kv:v1, reconciled
// to Completed with the StatefulSet controller played between reconciles.
func firstReleaseCompleted(t *testing.T) (*fixture, types.NamespacedName, v1alpha1.StatefulSetRollout) {
	t.Helper()
	key := types.NamespacedName{Namespace: "default", Name: "kv"}
	f := newFixtureOn(t, fake.NewClientBuilder().WithObjects(newRollout("kv", 4, "kv:v1")).
		WithInterceptorFuncs(interceptor.Funcs{Patch: bumpStatefulSetGeneration}))
	reconcileOnce(t, f, "kv")
	for range 3 {
		playStatefulSetController(t, f, key)
		f.clock.Step(statusInterval)
		reconcileOnce(t, f, "kv")
	}
	var rollout v1alpha1.StatefulSetRollout
	if err := f.r.Get(context.Background(), key, &rollout); err != nil {
		t.Fatal(err)
	}
	if rollout.Status.Phase != v1alpha1.PhaseCompleted {
		t.Fatalf("the rollout is %s before the new image, want Completed: %s", rollout.Status.Phase, rollout.Status.Message)
	}
	return f, key, rollout
}

// playStatefulSetController does what the StatefulSet controller does for
// the fixture's rollouts, at once: the revision of the current template
// (kv-1 for image kv:v1, kv-2 for kv:v2), the status observed, and Ready
// pods for the missing ordinals, those below the partition at the current
// revision and the others at the update revision.
func playStatefulSetController(t *testing.T, f *fixture, key types.NamespacedName) {
	t.Helper()
	ctx := context.Background()
	var sts appsv1.StatefulSet
	if err := f.r.Get(ctx, key, &sts); err != nil {
		t.Fatal(err)
	}
	number := int64(strings.TrimPrefix(sts.Spec.Template.Spec.Containers[0].Image, "kv:v")[0] - '0')
	update := fmt.Sprintf("kv-%d", number)
	rev := revisionOf(t, &sts, update, number, &sts.Spec.Template)
	if err := f.r.Create(ctx, &rev); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	current := sts.Status.CurrentRevision
	if current == "" {
		current = update
	}
	var partition int32
	if s := sts.Spec.UpdateStrategy.RollingUpdate; s != nil && s.Partition != nil {
		partition = *s.Partition
	}
	var pods corev1.PodList
	if err := f.r.List(ctx, &pods, client.InNamespace(key.Namespace)); err != nil {
		t.Fatal(err)
	}
	running := map[string]bool{}
	updated := 0
	for _, p := range pods.Items {
		running[p.Name] = true
		if p.Labels[appsv1.ControllerRevisionHashLabelKey] == update {
			updated++
		}
	}
	for ordinal := range *sts.Spec.Replicas {
		name := fmt.Sprintf("%s-%d", key.Name, ordinal)
		if running[name] {
			continue
		}
		revision := update
		if ordinal < partition {
			revision = current
		}
		if revision == update {
			updated++
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: key.Namespace, UID: types.UID(name + "-" + revision),
			Labels:          map[string]string{"app": key.Name, v1alpha1.LabelRollout: key.Name, appsv1.ControllerRevisionHashLabelKey: revision},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(&sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))},
		}}
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(f.clock.Now())}}
		if err := f.r.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	if updated == int(*sts.Spec.Replicas) {
		current = update
	}
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: *sts.Spec.Replicas, ReadyReplicas: *sts.Spec.Replicas,
		CurrentRevision: current, UpdateRevision: update, UpdatedReplicas: int32(updated)}
	if err := f.r.Status().Update(ctx, &sts); err != nil {
		t.Fatal(err)
	}
}
