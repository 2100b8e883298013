package notify

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// ClientSecretReader reads target secrets with a controller-runtime client;
// the manager's cached client keeps the reads off the API server.
func ClientSecretReader(c client.Reader) SecretReader {
	return func(ctx context.Context, namespace string, ref v1alpha1.SecretKeyRef) (string, error) {
		var secret corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &secret); err != nil {
			return "", err
		}
		value, ok := secret.Data[ref.Key]
		if !ok {
			return "", fmt.Errorf("secret %s/%s has no key %q", namespace, ref.Name, ref.Key)
		}
		return string(value), nil
	}
}
