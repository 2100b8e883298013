package admission

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/sroll-dev/sroll/internal/controller"
)

// The keeper issues a certificate once, reuses it while it has more than a
// third of its life left, renews it after that or when the hosts change,
// and keeps the files and the caBundle in step.
func TestCertKeeperIssuesReusesAndRenews(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(controller.NewScheme()).WithObjects(&admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "sroll"},
		Webhooks:   []admissionregistrationv1.ValidatingWebhook{{Name: "statefulsetrollouts.sroll.dev"}},
	}).Build()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	k := &CertKeeper{
		Client: c, Secret: types.NamespacedName{Namespace: "sroll-system", Name: "sroll-webhook-cert"},
		Hosts: []string{"sroll-webhook.sroll-system.svc"}, WebhookConfiguration: "sroll", Dir: t.TempDir(),
		Now: func() time.Time { return now },
	}
	ctx := context.Background()
	issued := func() []byte {
		t.Helper()
		if err := k.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		var secret corev1.Secret
		if err := c.Get(ctx, k.Secret, &secret); err != nil {
			t.Fatal(err)
		}
		file, err := os.ReadFile(filepath.Join(k.Dir, corev1.TLSCertKey))
		if err != nil || !bytes.Equal(file, secret.Data[corev1.TLSCertKey]) {
			t.Fatalf("tls.crt in the directory differs from the Secret's (%v)", err)
		}
		var config admissionregistrationv1.ValidatingWebhookConfiguration
		if err := c.Get(ctx, types.NamespacedName{Name: "sroll"}, &config); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(config.Webhooks[0].ClientConfig.CABundle, secret.Data["ca.crt"]) {
			t.Fatal("the caBundle is not the Secret's CA")
		}
		return secret.Data[corev1.TLSCertKey]
	}

	first := issued()
	now = now.Add(200 * 24 * time.Hour)
	if !bytes.Equal(issued(), first) {
		t.Error("renewed a certificate with 165 days left")
	}
	now = now.Add(50 * 24 * time.Hour)
	renewed := issued()
	if bytes.Equal(renewed, first) {
		t.Error("kept a certificate with 115 days left, less than a third of its life")
	}
	k.Hosts = append(k.Hosts, "sroll-webhook.sroll-system.svc.cluster.local")
	if bytes.Equal(issued(), renewed) {
		t.Error("kept a certificate that does not name every host")
	}
}
