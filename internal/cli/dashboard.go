package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/cli/render"
	"github.com/sroll-dev/sroll/internal/dashboard"
)

func newDashboardCommand(e *env) *cobra.Command {
	var (
		address       string
		port          int
		allNamespaces bool
	)
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve a live web view of the rollouts, with the actions",
		Long: "Serve a live web view of the rollouts: the list, and for each rollout its\n" +
			"steps, revisions, pod grid, analysis, replication members and events, with\n" +
			"pause, resume, promote, abort, retry and undo. It acts with your kubeconfig's\n" +
			"credentials: what you may not do, the page may not do either.\n\n" +
			"--context takes several contexts, comma-separated, shown in one list.\n" +
			"It listens on loopback unless --address says otherwise.",
		Example: "  kubectl sroll dashboard\n  kubectl sroll dashboard -A --context prod-eu,prod-us --port 8080",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port < 0 || port > 65535 {
				return usagef("--port must be a port number (0 picks a free one), got %d", port)
			}
			// The informers' own logs are not for the user: the page shows
			// a cluster that can't be reached, and why.
			ctrllog.SetLogger(logr.Discard())
			clusters, err := e.dashboardClusters(allNamespaces)
			if err != nil {
				return err
			}
			return dashboard.Serve(cmd.Context(), dashboard.Options{
				Address: address, Port: port, Clusters: clusters, Scheme: scheme,
				Rollouts: dashboardRollouts{}, Out: e.streams.Out, ErrOut: e.streams.ErrOut,
			})
		},
	}
	cmd.Flags().StringVar(&address, "address", "127.0.0.1", "The address to listen on; anything but loopback lets others act with your credentials.")
	cmd.Flags().IntVar(&port, "port", 3100, "The port to listen on; 0 picks a free one.")
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "Show the rollouts of every namespace.")
	return cmd
}

// dashboardClusters are the clusters of --context: one, as every verb
// connects, or several, comma-separated, each with its own namespace.
func (e *env) dashboardClusters(allNamespaces bool) ([]dashboard.Cluster, error) {
	loader := e.flags.ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, err
	}
	names := strings.Split(*e.flags.Context, ",")
	if len(names) == 1 {
		cfg, err := e.flags.ToRESTConfig()
		if err != nil {
			return nil, err
		}
		namespace, _, err := loader.Namespace()
		if err != nil {
			return nil, err
		}
		name := names[0]
		if name == "" {
			name = raw.CurrentContext
		}
		return []dashboard.Cluster{{Name: name, Config: withRate(cfg), Namespace: shownNamespace(namespace, allNamespaces)}}, nil
	}
	var clusters []dashboard.Cluster
	for _, name := range names {
		context, ok := raw.Contexts[name]
		if !ok {
			return nil, usagef("context %q is not in the kubeconfig", name)
		}
		cfg, err := clientcmd.NewNonInteractiveClientConfig(raw, name, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("context %s: %w", name, err)
		}
		namespace := *e.flags.Namespace
		if namespace == "" {
			namespace = context.Namespace
		}
		if namespace == "" {
			namespace = "default"
		}
		clusters = append(clusters, dashboard.Cluster{Name: name, Config: withRate(cfg), Namespace: shownNamespace(namespace, allNamespaces)})
	}
	return clusters, nil
}

func shownNamespace(namespace string, all bool) string {
	if all {
		return ""
	}
	return namespace
}

// dashboardRollouts gives the dashboard the plugin's reads and actions.
type dashboardRollouts struct{}

func (dashboardRollouts) List(ctx context.Context, c client.Reader, namespace string) ([]render.Row, error) {
	var list v1alpha1.StatefulSetRolloutList
	if err := c.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, explain(err)
	}
	rows := make([]render.Row, 0, len(list.Items))
	for i := range list.Items {
		rows = append(rows, listRow(&list.Items[i]))
	}
	return rows, nil
}

func (dashboardRollouts) Read(ctx context.Context, c client.Client, namespace, name string, now time.Time) (*v1alpha1.StatefulSetRollout, render.Model, error) {
	return (&session{Client: c, namespace: namespace}).readModel(ctx, name, now)
}

func (dashboardRollouts) Act(ctx context.Context, c client.Client, namespace, name, action string) (string, error) {
	act, ok := actions[Action(action)]
	if !ok {
		return "", fmt.Errorf("%w %q", dashboard.ErrUnknownAction, action)
	}
	s := &session{Client: c, namespace: namespace}
	r, err := s.rollout(ctx, name)
	if err != nil {
		return "", err
	}
	d, err := act(ctx, s, r)
	if err != nil {
		return "", err
	}
	if d.Note != "" {
		return d.Message + " (note: " + d.Note + ")", nil
	}
	return d.Message, nil
}
