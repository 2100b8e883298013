package e2eutil

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/controller"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// Image is the image of the pods' one container, kv, tagged v1 at first.
// The simulated kubelet runs nothing: any name does.
const Image = "registry.example/kv"

// Setup installs the CRDs on clustertest's cluster, once per process, and
// returns an uncached client of it.
func Setup(t testing.TB) client.Client {
	t.Helper()
	InstallCRDs(t, clustertest.RestConfig())
	return Client(t, clustertest.RestConfig())
}

// Client is an uncached client that knows sroll's types.
func Client(t testing.TB, cfg *rest.Config) client.Client {
	t.Helper()
	c, err := client.New(cfg, client.Options{Scheme: controller.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// PodTemplate is a template of one container, kv, running Image:v1.
func PodTemplate(labels map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "kv", Image: Image + ":v1"}}},
	}
}

// NewRollout is a rollout of replicas pods labelled app=name on PodTemplate,
// replacing maxUnavailable at a time through steps (the API's default, one
// step of 100%, when none).
func NewRollout(namespace, name string, replicas int32, maxUnavailable intstr.IntOrString, steps ...v1alpha1.RolloutStep) *v1alpha1.StatefulSetRollout {
	labels := map[string]string{"app": name}
	return &v1alpha1.StatefulSetRollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.StatefulSetRolloutSpec{
			StatefulSetSpec: appsv1.StatefulSetSpec{
				Replicas:    &replicas,
				ServiceName: name,
				Selector:    &metav1.LabelSelector{MatchLabels: labels},
				Template:    PodTemplate(labels),
			},
			Rollout: v1alpha1.RolloutStrategy{MaxUnavailable: &maxUnavailable, Steps: steps},
		},
	}
}

// Percent is a step updating p% of the pods.
func Percent(p int32) v1alpha1.RolloutStep { return v1alpha1.RolloutStep{Percent: &p} }

// Pause is a step that waits for a promote, or for d when d > 0.
func Pause(d time.Duration) v1alpha1.RolloutStep {
	step := v1alpha1.RolloutStep{Pause: &v1alpha1.PauseStep{}}
	if d > 0 {
		step.Pause.Duration = &metav1.Duration{Duration: d}
	}
	return step
}

// SetImage changes the image of the kv container of a rollout's or a
// StatefulSet's pod template to Image:tag.
func SetImage(t testing.TB, c client.Client, obj client.Object, tag string) {
	t.Helper()
	Patch(t, c, obj, fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"kv","image":"%s:%s"}]}}}}`, Image, tag))
}

// Promote asks the operator to go past the pause the rollout waits at.
func Promote(t testing.TB, c client.Client, r *v1alpha1.StatefulSetRollout) {
	t.Helper()
	Patch(t, c, r, fmt.Sprintf(`{"metadata":{"annotations":{%q:"1"}}}`, v1alpha1.AnnotationPromote))
}

// Patch applies a JSON merge patch to obj.
func Patch(t testing.TB, c client.Client, obj client.Object, patch string) {
	t.Helper()
	if err := c.Patch(context.Background(), obj, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatalf("patch %s with %s: %v", obj.GetName(), patch, err)
	}
}

// ShellReplication is a replication spec whose hooks are the shell commands
// given, each run as ["sh", "-c", script]; the primary hook is the secondary
// one unless set.
func ShellReplication(sequence, seed, join, stop, status string) *v1alpha1.ReplicationSpec {
	hook := func(script string) v1alpha1.Hook {
		return v1alpha1.Hook{Command: []string{"sh", "-c", script, "hook"}}
	}
	primary, secondary := hook(join), hook(join)
	return &v1alpha1.ReplicationSpec{Hooks: v1alpha1.ReplicationHooks{
		Sequence: hook(sequence), Seed: hook(seed), Primary: &primary, Secondary: &secondary,
		Stop: hook(stop), Status: v1alpha1.StatusHook{Hook: hook(status)},
	}}
}
