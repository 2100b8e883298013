package e2e

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/admission"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// A spec the StatefulSet API refuses is refused at apply, with the API
// server's own message, by the operator's webhook; it keeps its serving
// certificate itself (a Secret, the caBundle set), so nothing but the
// operator is needed. A template change the API refuses is refused the
// same way, and a good rollout goes through.
func TestWebhookRefusesWhatTheStatefulSetAPIRefuses(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	ctx := context.Background()
	port := freePort(t)
	config := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "sroll-e2e-" + ns},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "statefulsetrollouts.sroll.dev",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				URL: ptr(fmt.Sprintf("https://127.0.0.1:%d%s", port, admission.Path)),
			},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{v1alpha1.GroupVersion.Group},
					APIVersions: []string{v1alpha1.GroupVersion.Version}, Resources: []string{"statefulsetrollouts"}},
			}},
			// This test's namespace only: the other tests run without it.
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
			FailurePolicy:           ptr(admissionregistrationv1.Fail),
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if err := c.Create(ctx, config); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), config) })
	e2eutil.StartOperator(t, ns, fmt.Sprintf("--webhook-port=%d", port), "--webhook-cert-dir="+t.TempDir(),
		"--webhook-cert-secret="+ns+"/sroll-webhook-cert", "--webhook-cert-hosts=127.0.0.1", "--webhook-configuration="+config.Name)

	bad := e2eutil.NewRollout(ns, "bad", 2, intstr.FromInt32(1))
	bad.Spec.Template.Spec.Containers[0].Name = "UPPER_case"
	bad.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 99999}}
	refused(t, c, "create", func() error { return c.Create(ctx, bad.DeepCopy()) },
		`spec.template.spec.containers[0].name: Invalid value: "UPPER_case"`, "containerPort: Invalid value: 99999")

	good := e2eutil.NewRollout(ns, "kv", 2, intstr.FromInt32(1))
	if err := c.Create(ctx, good); err != nil {
		t.Fatalf("a good rollout was refused: %v", err)
	}
	e2eutil.WaitCompleted(t, c, good, 2*time.Minute)
	refused(t, c, "update", func() error {
		r := e2eutil.GetRollout(t, c, good)
		r.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 99999}}
		return c.Update(ctx, r)
	}, "containerPort: Invalid value: 99999")

	var secret corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "sroll-webhook-cert"}, &secret); err != nil || len(secret.Data["ca.crt"]) == 0 {
		t.Errorf("the certificate Secret: %v, keys %d", err, len(secret.Data))
	}
}

// refused retries write until the webhook answers (the operator may still
// be starting) and checks that it refused with a message holding each of
// want.
func refused(t *testing.T, c client.Client, what string, write func() error, want ...string) {
	t.Helper()
	e2eutil.Eventually(t, time.Minute, "the webhook refuses the "+what, func() (bool, string) {
		err := write()
		if err == nil {
			t.Fatalf("the %s was accepted", what)
		}
		msg := err.Error()
		return strings.Contains(msg, "refused by the API server") && e2eutil.ContainsAll(msg, want), msg
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
