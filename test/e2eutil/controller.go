package e2eutil

import (
	"context"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/sroll-dev/sroll/internal/controller"
	"github.com/sroll-dev/sroll/internal/hookrun"
)

var setLogger sync.Once

// StartController runs sroll's reconciler in this process, in a manager of
// its own for namespace ns alone, until the test ends, and returns it.
// adjust, when not nil, may change the reconciler before it starts (wrap
// its client to record the writes, say). The logs go to stderr with -v.
func StartController(t testing.TB, cfg *rest.Config, ns string, adjust func(*controller.Reconciler)) *controller.Reconciler {
	t.Helper()
	setLogger.Do(func() {
		logs := io.Discard
		if testing.Verbose() {
			logs = os.Stderr
		}
		// Development mode panics on a malformed log call (an odd number of
		// key-value arguments): it fails the test instead of losing the log.
		ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(logs)))
	})
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 controller.NewScheme(),
		Cache:                  controller.CacheOptions([]string{ns}),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// One manager per test, each with the same controller name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	reconciler := controller.New(mgr, controller.NewMetrics(prometheus.NewRegistry()))
	exec, err := hookrun.PodExec(mgr.GetConfig())
	if err != nil {
		t.Fatal(err)
	}
	reconciler.Hooks = hookrun.New(exec, clock.RealClock{}, 4)
	if adjust != nil {
		adjust(reconciler)
	}
	if err := reconciler.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	if err := controller.SetupSnapshots(mgr, reconciler.Metrics, reconciler.Notifier, reconciler.Hooks); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	return reconciler
}
