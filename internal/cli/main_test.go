package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// The tests of the verbs run the plugin in-process against the local
// cluster, with the operator's reconciler running in-process too, one per
// test namespace. The argument and renderer tests need neither.
func TestMain(m *testing.M) { os.Exit(clustertest.Run(m)) }

// clusterTest sets up a test on the cluster: the CRDs, its namespace, a
// client, and, with withOperator, the operator's reconciler for that
// namespace until the test ends.
func clusterTest(t *testing.T, withOperator bool) (string, client.Client) {
	t.Helper()
	e2eutil.InstallCRDs(t, clustertest.RestConfig())
	t.Parallel()
	ns := clustertest.Namespace(t)
	c, err := client.New(clustertest.RestConfig(), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	if withOperator {
		e2eutil.StartController(t, clustertest.RestConfig(), ns, nil)
	}
	return ns, c
}

// result is one run of the plugin.
type result struct {
	out, err string
	code     int
}

// sroll runs `kubectl sroll -n ns args...` in-process.
func sroll(t *testing.T, ns string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	all := append([]string{"--kubeconfig", clustertest.KubeconfigPath(), "-n", ns}, args...)
	code := Run(t.Context(), all, genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
	t.Logf("kubectl sroll %v: exit %d\n%s%s", args, code, out.String(), errOut.String())
	return result{out.String(), errOut.String(), code}
}

// mustSroll runs the plugin and fails the test unless it succeeded.
func mustSroll(t *testing.T, ns string, args ...string) string {
	t.Helper()
	r := sroll(t, ns, args...)
	if r.code != 0 {
		t.Fatalf("kubectl sroll %v: exit %d: %s", args, r.code, r.err)
	}
	return r.out
}

// wantFailure checks a run failed with the exit code and said errText.
func (r result) wantFailure(t *testing.T, code int, errText string) {
	t.Helper()
	if r.code != code || r.err != "error: "+errText+"\n" {
		t.Errorf("got exit %d, stderr %q; want exit %d, stderr %q", r.code, r.err, code, "error: "+errText+"\n")
	}
}

// newRollout is a small rollout: 4 pods, 2 at a time, a pause at 50%.
func newRollout(ns, name string) *v1alpha1.StatefulSetRollout {
	labels := map[string]string{"app": name}
	return &v1alpha1.StatefulSetRollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.StatefulSetRolloutSpec{
			StatefulSetSpec: appsv1.StatefulSetSpec{
				Replicas:    ptr.To(int32(4)),
				ServiceName: name,
				Selector:    &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "kv", Image: "registry.example/kv:1.0"}}},
				},
			},
			Rollout: v1alpha1.RolloutStrategy{
				MaxUnavailable: ptr.To(intstr.FromInt32(2)),
				Steps: []v1alpha1.RolloutStep{
					{Percent: ptr.To(int32(50))},
					{Pause: &v1alpha1.PauseStep{}},
					{Percent: ptr.To(int32(100))},
				},
			},
		},
	}
}

func create(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout) {
	t.Helper()
	if err := c.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls the rollout until done says so, or fails the test.
func waitFor(t *testing.T, c client.Client, ns, name, what string, done func(*v1alpha1.StatefulSetRollout) bool) *v1alpha1.StatefulSetRollout {
	t.Helper()
	var r v1alpha1.StatefulSetRollout
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &r); err != nil {
			return false, err
		}
		return done(&r), nil
	})
	if err != nil {
		t.Fatalf("%s never became %s: %v; last status: %s", name, what, err, describe(&r))
	}
	return &r
}

// settled is a rollout in the phase whose status covers the latest spec
// and every request made of it.
func settled(phase v1alpha1.Phase) func(*v1alpha1.StatefulSetRollout) bool {
	return func(r *v1alpha1.StatefulSetRollout) bool {
		return r.Status.Phase == phase && r.Status.ObservedGeneration == r.Generation && !requestPending(r)
	}
}

func describe(r *v1alpha1.StatefulSetRollout) string {
	return fmt.Sprintf("phase %s step %d (%s), generation %d observed %d, annotations %v",
		r.Status.Phase, r.Status.CurrentStepIndex, r.Status.Message, r.Generation, r.Status.ObservedGeneration, r.Annotations)
}
