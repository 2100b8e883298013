// Command sroll-operator runs the StatefulSetRollout controller.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/sroll-dev/sroll/internal/controller"
	"github.com/sroll-dev/sroll/internal/hookrun"
	"github.com/sroll-dev/sroll/internal/notify"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sroll-operator:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		metricsAddr, probeAddr  string
		leaderElect             bool
		leaderElectionNamespace string
		namespaces              string
		clusterName             string
		concurrentHooks         int
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz endpoints bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", true, "Elect a leader, so only one of several replicas acts at a time.")
	flag.StringVar(&leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election lease; needed when running outside a cluster.")
	flag.StringVar(&namespaces, "namespace", "", "Comma-separated namespaces to watch; empty watches all.")
	flag.StringVar(&clusterName, "cluster-name", "", "Name of this cluster, shown in notifications.")
	flag.IntVar(&concurrentHooks, "concurrent-hooks", 8, "How many replication hooks run at once, across every rollout.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	watched := splitList(namespaces)
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                        controller.NewScheme(),
		Cache:                         controller.CacheOptions(watched),
		Metrics:                       metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:        probeAddr,
		LeaderElection:                leaderElect,
		LeaderElectionID:              "sroll-operator.sroll.dev",
		LeaderElectionNamespace:       leaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	reconciler := controller.New(mgr, controller.NewMetrics(metrics.Registry))
	// Target secrets are read with the API reader: a few reads a second
	// need no cluster-wide Secret cache (nor list and watch on secrets).
	reconciler.Notifier = notify.NewDispatcher(notify.ClientSecretReader(mgr.GetAPIReader()), notify.Options{
		Cluster: clusterName, Registerer: metrics.Registry,
	})
	exec, err := hookrun.PodExec(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("set up the hook runner: %w", err)
	}
	reconciler.Hooks = hookrun.New(exec, clock.RealClock{}, concurrentHooks)
	if err := reconciler.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	log.Info("Started operator", "namespaces", watched, "clusterName", clusterName, "leaderElection", leaderElect)
	return mgr.Start(ctrl.SetupSignalHandler())
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(value string) []string {
	var items []string
	for item := range strings.SplitSeq(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}
