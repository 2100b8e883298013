package controller

import (
	"encoding/json"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

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
