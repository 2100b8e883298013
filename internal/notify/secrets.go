package notify

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// SecretNotOptedInError is a SecretReader's error for a Secret whose owner
// did not label it v1alpha1.LabelNotificationSecret: "true".
type SecretNotOptedInError struct {
	Namespace, Name string
}

func (e *SecretNotOptedInError) Error() string {
	return fmt.Sprintf("Secret %s/%s is not labelled %s=true: its owner must add the label before notifications may use it",
		e.Namespace, e.Name, v1alpha1.LabelNotificationSecret)
}

// ClientSecretReader reads target secrets with a controller-runtime reader,
// and only those opted in by their owner (see
// v1alpha1.LabelNotificationSecret): the operator may read every Secret of
// a namespace, the author of a rollout may not.
//
// The manager's APIReader is the usual choice: the limiters keep reads to a
// few per second, which does not justify a cluster-wide Secret cache (and
// its list/watch permission); it needs only get on secrets.
func ClientSecretReader(c client.Reader) SecretReader {
	return func(ctx context.Context, namespace string, ref v1alpha1.SecretKeyRef) (string, error) {
		var secret corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &secret); err != nil {
			return "", err
		}
		if secret.Labels[v1alpha1.LabelNotificationSecret] != "true" {
			return "", &SecretNotOptedInError{Namespace: namespace, Name: ref.Name}
		}
		value, ok := secret.Data[ref.Key]
		if !ok {
			return "", fmt.Errorf("secret %s/%s has no key %q", namespace, ref.Name, ref.Key)
		}
		return string(value), nil
	}
}
