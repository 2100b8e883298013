package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// sroll creates a missing governing Service, headless and owned by the
// rollout (deleted with it by the garbage collector); a Service of that
// name someone else made is left exactly as it was.
func TestGoverningService(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	ctx := context.Background()

	theirs := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "theirs"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "db"}, Ports: []corev1.ServicePort{{Port: 5432}}},
	}
	if err := c.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	kept := e2eutil.NewRollout(ns, "db", 1, intstr.FromInt32(1))
	kept.Spec.ServiceName = "theirs"
	createReady(t, c, kept)
	owned := createReady(t, c, e2eutil.NewRollout(ns, "kv", 1, intstr.FromInt32(1)))

	var svc corev1.Service
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "kv"}, &svc); err != nil {
		t.Fatalf("no governing Service kv: %v", err)
	}
	if owner := metav1.GetControllerOf(&svc); svc.Spec.ClusterIP != corev1.ClusterIPNone || owner == nil || owner.UID != owned.UID {
		t.Fatalf("Service kv: clusterIP %q, controller %+v; want headless, controlled by the rollout", svc.Spec.ClusterIP, owner)
	}
	var after corev1.Service
	if err := c.Get(ctx, client.ObjectKeyFromObject(theirs), &after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != theirs.ResourceVersion {
		t.Fatalf("the user's Service was written: %+v", after)
	}

	if err := c.Delete(ctx, owned); err != nil {
		t.Fatal(err)
	}
	e2eutil.Eventually(t, time.Minute, "Service kv deleted with its rollout", func() (bool, string) {
		err := c.Get(ctx, client.ObjectKeyFromObject(&svc), &corev1.Service{})
		return apierrors.IsNotFound(err), "get: " + errString(err)
	})
}

func errString(err error) string {
	if err == nil {
		return "found"
	}
	return err.Error()
}
