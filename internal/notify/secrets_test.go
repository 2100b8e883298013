package notify_test

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/notify"
)

func TestClientSecretReader(t *testing.T) {
	optedIn := map[string]string{v1alpha1.LabelNotificationSecret: "true"}
	c := fake.NewClientBuilder().WithObjects(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "slack", Labels: optedIn},
		Data:       map[string][]byte{"token": []byte("xoxb-1")},
	}, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "db-admin", Labels: map[string]string{v1alpha1.LabelNotificationSecret: "yes"}},
		Data:       map[string][]byte{"token": []byte("root")},
	}).Build()
	read := notify.ClientSecretReader(c)
	ctx := context.Background()
	if got, err := read(ctx, "db", v1alpha1.SecretKeyRef{Name: "slack", Key: "token"}); err != nil || got != "xoxb-1" {
		t.Errorf("read = %q, %v; want xoxb-1", got, err)
	}
	for _, ref := range []v1alpha1.SecretKeyRef{{Name: "slack", Key: "other"}, {Name: "missing", Key: "token"}} {
		if _, err := read(ctx, "db", ref); err == nil {
			t.Errorf("reading %+v succeeded, want an error", ref)
		}
	}
	got, err := read(ctx, "db", v1alpha1.SecretKeyRef{Name: "db-admin", Key: "token"})
	if e, ok := errors.AsType[*notify.SecretNotOptedInError](err); !ok || got != "" || e.Name != "db-admin" {
		t.Errorf("reading a Secret not opted in = %q, %v; want a *SecretNotOptedInError", got, err)
	}
	if _, err := read(ctx, "other-namespace", v1alpha1.SecretKeyRef{Name: "slack", Key: "token"}); err == nil {
		t.Error("read a secret of another namespace")
	}
}
