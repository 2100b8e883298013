package e2eutil

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/sroll-dev/sroll/internal/localcluster"
)

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("e2eutil: cannot locate its own source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var crds struct {
	once sync.Once
	err  error
}

// InstallCRDs installs the CRDs of config/crd/bases on the cluster
// (localcluster.InstallCRDs: strictly decoded, applied server-side, waited
// for until served). It does so once per process, so every test may call
// it first.
func InstallCRDs(t testing.TB, cfg *rest.Config) {
	t.Helper()
	crds.once.Do(func() { crds.err = installCRDs(cfg) })
	if crds.err != nil {
		t.Fatalf("installing the CRDs: %v", crds.err)
	}
}

func installCRDs(cfg *rest.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	files, err := filepath.Glob(filepath.Join(RepoRoot(), "config", "crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs in config/crd/bases (%v)", err)
	}
	return localcluster.InstallCRDs(ctx, cfg, "sroll-tests", files...)
}

// WaitEstablished waits until the API server serves a CRD.
func WaitEstablished(t testing.TB, cfg *rest.Config, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := localcluster.WaitCRDServed(ctx, cfg, name); err != nil {
		t.Fatal(err)
	}
}
