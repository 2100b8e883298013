package smoke

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/controller"
	"github.com/sroll-dev/sroll/internal/controller/controllertest"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// timeout bounds every wait; a rollout of 10 pods takes about 5 seconds.
const timeout = 2 * time.Minute

// newRollout is a rollout of replicas pods running image, 30% at a time.
func newRollout(ns, name string, replicas int32, image string) *v1alpha1.StatefulSetRollout {
	r := e2eutil.NewRollout(ns, name, replicas, intstr.FromString("30%"))
	r.Spec.Template.Spec.Containers[0].Image = image
	return r
}

// startOperator installs the CRDs and runs the controller in-process for
// namespace ns until the test ends. It returns an uncached client for the
// test's own reads and writes, the reconciler, and the record of the
// reconciler's writes.
func startOperator(t *testing.T, ns string) (client.Client, *controller.Reconciler, *controllertest.Writes) {
	t.Helper()
	e2eutil.InstallCRDs(t, clustertest.RestConfig())
	var writes *controllertest.Writes
	reconciler := e2eutil.StartController(t, clustertest.RestConfig(), ns, func(r *controller.Reconciler) {
		writes = controllertest.RecordWrites(r.Client)
		r.Client = writes
	})
	return e2eutil.Client(t, clustertest.RestConfig()), reconciler, writes
}

// waitFor re-reads obj until done says yes.
func waitFor(t *testing.T, c client.Client, obj client.Object, what string, done func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err
		}
		return done(), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s of %s: %v", what, obj.GetName(), err)
	}
}

// waitCompleted waits until the rollout of its current spec is Completed
// with every pod Ready on the StatefulSet's update revision, which it returns.
func waitCompleted(t *testing.T, c client.Client, rollout *v1alpha1.StatefulSetRollout) string {
	t.Helper()
	waitFor(t, c, rollout, "completion", func() bool {
		return rollout.Status.ObservedGeneration == rollout.Generation && rollout.Status.Phase == v1alpha1.PhaseCompleted
	})
	return waitOnRevision(t, c, rollout)
}

// waitOnRevision waits until every pod of the rollout is Ready on the
// StatefulSet's update revision, and returns that revision.
func waitOnRevision(t *testing.T, c client.Client, rollout *v1alpha1.StatefulSetRollout) string {
	t.Helper()
	var sts appsv1.StatefulSet
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var pods corev1.PodList
		if err := c.Get(ctx, client.ObjectKeyFromObject(rollout), &sts); err != nil {
			return false, err
		}
		if err := c.List(ctx, &pods, client.InNamespace(rollout.Namespace), client.MatchingLabels(rollout.Spec.Selector.MatchLabels)); err != nil {
			return false, err
		}
		onRevision := 0
		for _, pod := range pods.Items {
			if pod.DeletionTimestamp == nil && e2eutil.PodReady(&pod) && pod.Labels[appsv1.ControllerRevisionHashLabelKey] == sts.Status.UpdateRevision {
				onRevision++
			}
		}
		last = fmt.Sprintf("%d of %d pods Ready on %s", onRevision, len(pods.Items), sts.Status.UpdateRevision)
		return len(pods.Items) == int(*rollout.Spec.Replicas) && onRevision == len(pods.Items), nil
	})
	if err != nil {
		t.Fatalf("waiting for the pods of %s: %v; last seen %s", rollout.Name, err, last)
	}
	return sts.Status.UpdateRevision
}

// update applies change to the latest version of rollout.
func update(t *testing.T, c client.Client, rollout *v1alpha1.StatefulSetRollout, change func()) {
	t.Helper()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(t.Context(), client.ObjectKeyFromObject(rollout), rollout); err != nil {
			return err
		}
		change()
		return c.Update(t.Context(), rollout)
	}); err != nil {
		t.Fatal(err)
	}
}

func setImage(t *testing.T, c client.Client, rollout *v1alpha1.StatefulSetRollout, image string) {
	t.Helper()
	update(t, c, rollout, func() { rollout.Spec.Template.Spec.Containers[0].Image = image })
}

func annotate(t *testing.T, c client.Client, rollout *v1alpha1.StatefulSetRollout, key, value string) {
	t.Helper()
	update(t, c, rollout, func() { metav1.SetMetaDataAnnotation(&rollout.ObjectMeta, key, value) })
}
