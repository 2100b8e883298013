// Command sroll-operator runs the StatefulSetRollout controller.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/admission"
	"github.com/sroll-dev/sroll/internal/consul/watch"
	"github.com/sroll-dev/sroll/internal/controller"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/internal/fencing"
	"github.com/sroll-dev/sroll/internal/hookrun"
	"github.com/sroll-dev/sroll/internal/measure"
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
		allowedHosts            string
		webhookPort             int
		webhookCertDir          string
		webhookCertSecret       string
		webhookCertHosts        string
		webhookConfiguration    string
		concurrentHooks         int
		watchNodes              bool
		concurrentMeasurements  int
		consulInterval          time.Duration
		pprofAddr               string
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz endpoints bind to.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "Address Go's /debug/pprof endpoints bind to, for profiling; empty serves none.")
	flag.BoolVar(&leaderElect, "leader-elect", true, "Elect a leader, so only one of several replicas acts at a time.")
	flag.StringVar(&leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election lease; needed when running outside a cluster.")
	flag.StringVar(&namespaces, "namespace", "", "Comma-separated namespaces to watch; empty watches all.")
	flag.StringVar(&clusterName, "cluster-name", "", "Name of this cluster, shown in notifications.")
	flag.StringVar(&allowedHosts, "allowed-hosts", egress.DefaultAllowedHosts,
		"Comma-separated hosts that notification targets, analysis checks (Prometheus, webhooks) and Consul may connect to: names, IP addresses, *.domain for the names below it, or * for any. Targets elsewhere are refused.")
	flag.IntVar(&webhookPort, "webhook-port", 0, "Port of the validating admission webhook (HTTPS); 0 serves none.")
	flag.StringVar(&webhookCertDir, "webhook-cert-dir", filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs"),
		"Directory of the webhook's tls.crt and tls.key: mounted from cert-manager's Secret, or written by the operator with --webhook-cert-secret.")
	flag.StringVar(&webhookCertSecret, "webhook-cert-secret", "",
		"namespace/name of a Secret in which the operator keeps the webhook's certificate itself, renewing it and setting the caBundle of --webhook-configuration; empty when cert-manager provides it.")
	flag.StringVar(&webhookCertHosts, "webhook-cert-hosts", "", "Comma-separated DNS names and IP addresses of the certificate the operator keeps: the webhook Service's names.")
	flag.StringVar(&webhookConfiguration, "webhook-configuration", "", "Name of the ValidatingWebhookConfiguration whose caBundle the operator sets.")
	flag.IntVar(&concurrentHooks, "concurrent-hooks", 8, "How many replication hooks run at once, across every rollout.")
	flag.BoolVar(&watchNodes, "watch-nodes", false,
		"Read the nodes the members run on, for fencing (spec.replication.fencing); needs get, list, watch and patch on nodes, cluster-wide. Default: true when --namespace is empty.")
	flag.IntVar(&concurrentMeasurements, "concurrent-measurements", 8, "How many analysis measurements (Prometheus queries, webhook checks) are taken at once, across every rollout.")
	flag.DurationVar(&consulInterval, "consul-interval", 2*time.Second, "How often each rollout's Consul service (spec.rollout.consul) is read.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	hosts, err := egress.ParseHosts(allowedHosts)
	if err != nil {
		return fmt.Errorf("--allowed-hosts: %w", err)
	}
	watched := splitList(namespaces)
	cfg := ctrl.GetConfigOrDie()
	scheme := controller.NewScheme()
	var webhookServer webhook.Server
	var certs *admission.CertKeeper
	if webhookPort != 0 {
		webhookServer = webhook.NewServer(webhook.Options{Port: webhookPort, CertDir: webhookCertDir})
		if webhookCertSecret != "" {
			if certs, err = certKeeper(cfg, scheme, webhookCertSecret, webhookCertHosts, webhookConfiguration, webhookCertDir); err != nil {
				return err
			}
			// Before the manager starts: the webhook server needs the files.
			if err := certs.Ensure(ctrl.LoggerInto(context.Background(), log)); err != nil {
				return fmt.Errorf("webhook certificate: %w", err)
			}
		}
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		WebhookServer:                 webhookServer,
		Scheme:                        scheme,
		Cache:                         controller.CacheOptions(watched),
		Metrics:                       metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:        probeAddr,
		PprofBindAddress:              pprofAddr,
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
	secrets := notify.ClientSecretReader(mgr.GetAPIReader())
	reconciler.Notifier = notify.NewDispatcher(secrets, notify.Options{
		Cluster: clusterName, AllowedHosts: hosts, Registerer: metrics.Registry,
	})
	reconciler.Measures = measure.NewScheduler(measure.Options{
		Workers: concurrentMeasurements, AllowedHosts: hosts, Secrets: secrets, Registerer: metrics.Registry,
	})
	reconciler.Consul = watch.New(watch.Options{AllowedHosts: hosts, Secrets: secrets, Interval: consulInterval})
	exec, err := hookrun.PodExec(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("set up the hook runner: %w", err)
	}
	reconciler.Hooks = hookrun.New(exec, clock.RealClock{}, concurrentHooks)
	reconciler.Hooks.SetFence(fencing.NewWebhook(notify.ClientSecretReader(mgr.GetAPIReader()), hosts, clusterName).Fence)
	reconciler.WatchNodes = len(watched) == 0
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "watch-nodes" {
			reconciler.WatchNodes = watchNodes
		}
	})
	if err := reconciler.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up controller: %w", err)
	}
	if err := controller.SetupSnapshots(mgr, reconciler.Metrics, reconciler.Notifier, reconciler.Hooks); err != nil {
		return fmt.Errorf("set up the snapshot set controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	ready := healthz.Ping
	if webhookServer != nil {
		if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.StatefulSetRollout{}).
			WithValidator(&admission.Validator{Client: mgr.GetClient()}).
			WithValidatorCustomPath(admission.Path).
			Complete(); err != nil {
			return fmt.Errorf("set up the webhook: %w", err)
		}
		if certs != nil {
			if err := mgr.Add(certs); err != nil {
				return err
			}
		}
		ready = webhookServer.StartedChecker()
	}
	if err := mgr.AddReadyzCheck("readyz", ready); err != nil {
		return err
	}
	log.Info("Started operator", "namespaces", watched, "clusterName", clusterName, "leaderElection", leaderElect, "allowedHosts", hosts.String())
	return mgr.Start(ctrl.SetupSignalHandler())
}

// certKeeper is the keeper of a self-managed webhook certificate, with a
// client of its own: the manager's cache is not running yet.
func certKeeper(cfg *rest.Config, scheme *runtime.Scheme, secret, hosts, configuration, dir string) (*admission.CertKeeper, error) {
	namespace, name, ok := strings.Cut(secret, "/")
	if !ok || namespace == "" || name == "" {
		return nil, fmt.Errorf("--webhook-cert-secret=%q: want namespace/name", secret)
	}
	if splitList(hosts) == nil || configuration == "" {
		return nil, errors.New("--webhook-cert-secret needs --webhook-cert-hosts and --webhook-configuration")
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	return &admission.CertKeeper{
		Client: c, Secret: types.NamespacedName{Namespace: namespace, Name: name}, Hosts: splitList(hosts),
		WebhookConfiguration: configuration, Dir: dir, Now: time.Now,
	}, nil
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
