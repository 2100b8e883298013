package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// Without the webhook, a spec whose StatefulSet the API server refuses is
// accepted; the rollout then says so instead of "creating the StatefulSet"
// forever: Degraded, the API server's message in status.message and the
// Progressing condition, a Warning event. A fixed spec clears it. A later
// template the API server refuses holds the rollout the same way, and
// fixing it goes on.
func TestRefusedStatefulSetIsReported(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	r := e2eutil.NewRollout(ns, "kv", 2, intstr.FromInt32(1))
	r.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 99999}}
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, c, r, "containerPort: Invalid value: 99999")

	e2eutil.Patch(t, c, r, `{"spec":{"template":{"spec":{"containers":[{"name":"kv","image":"`+e2eutil.Image+`:v1","ports":[{"containerPort":8080}]}]}}}}`)
	done := e2eutil.WaitCompleted(t, c, r, 2*time.Minute)
	if cond := meta.FindStatusCondition(done.Status.Conditions, plan.ConditionProgressing); cond == nil || cond.Reason != plan.ReasonRolloutCompleted {
		t.Errorf("Progressing condition after the fix: %+v", cond)
	}

	e2eutil.Patch(t, c, r, `{"spec":{"template":{"spec":{"containers":[{"name":"kv","image":"`+e2eutil.Image+`:v2","ports":[{"containerPort":8080,"name":"TOO_LONG_AND_UPPER"}]}]}}}}`)
	waitRefused(t, c, r, "ports[0].name")
	if got := e2eutil.GetRollout(t, c, r); got.Status.UpdatedReplicas != 0 || got.Status.ReadyReplicas != 2 {
		t.Errorf("a refused template touched pods: %s", e2eutil.Describe(got))
	}
	e2eutil.Patch(t, c, r, `{"spec":{"template":{"spec":{"containers":[{"name":"kv","image":"`+e2eutil.Image+`:v3","ports":[{"containerPort":8080,"name":"http"}]}]}}}}`)
	e2eutil.WaitCompleted(t, c, r, 2*time.Minute)
}

// waitRefused waits until the rollout reports the refused StatefulSet with
// the API server's message, in status and in a Warning event.
func waitRefused(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, apiMessage string) {
	t.Helper()
	got := e2eutil.WaitRollout(t, c, r, time.Minute, "Degraded: StatefulSet refused", func(got *v1alpha1.StatefulSetRollout) bool {
		cond := meta.FindStatusCondition(got.Status.Conditions, plan.ConditionProgressing)
		return got.Status.Phase == v1alpha1.PhaseDegraded && strings.Contains(got.Status.Message, apiMessage) &&
			cond != nil && cond.Reason == plan.ReasonStatefulSetRefused && got.Status.ObservedGeneration == got.Generation
	})
	e2eutil.WaitEvent(t, c, got, plan.ReasonStatefulSetRefused, 30*time.Second, apiMessage)
}
