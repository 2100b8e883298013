package dashboard

import (
	"context"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/cli/render"
)

// Rollouts is how the dashboard reads and steers rollouts: the plugin's own
// reads and actions (internal/cli), so that a page and `kubectl sroll`
// show and do the same thing. The client reads from the dashboard's
// informers and writes to the API server with the user's credentials.
type Rollouts interface {
	// List is the rollouts of namespace ("" for all), as `kubectl sroll list` has them.
	List(ctx context.Context, c client.Reader, namespace string) ([]render.Row, error)
	// Read is one rollout and the status screen's model of it at now.
	Read(ctx context.Context, c client.Client, namespace, name string, now time.Time) (*v1alpha1.StatefulSetRollout, render.Model, error)
	// Act carries out an action (pause, resume, promote, promote-full,
	// abort, retry, undo) and says what it did; the error says why not.
	Act(ctx context.Context, c client.Client, namespace, name, action string) (string, error)
}

// Cluster is a kubeconfig context to show.
type Cluster struct {
	// Name is the context's name, shown in the cluster column.
	Name   string
	Config *rest.Config
	// Namespace is the one namespace to show; "" shows all.
	Namespace string
}
