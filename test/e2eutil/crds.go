package e2eutil

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
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

// InstallCRDs applies the CRDs of config/crd/bases to the cluster (a
// server-side apply) and waits until the API server serves them. It does so
// once per process, so every test may call it first.
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
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	crdAPI := dyn.Resource(apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		// Strictly typed first: a field the API does not know is a mistake
		// in the generated file, which the apply alone would let through.
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &obj.Object); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if _, err := crdAPI.Apply(ctx, crd.Name, obj, metav1.ApplyOptions{FieldManager: "sroll-tests", Force: true}); err != nil {
			return fmt.Errorf("apply CRD %s: %w", crd.Name, err)
		}
		if err := waitEstablished(ctx, cfg, crd.Name); err != nil {
			return err
		}
	}
	return nil
}

// WaitEstablished waits until the API server serves a CRD.
func WaitEstablished(t testing.TB, cfg *rest.Config, name string) {
	t.Helper()
	if err := waitEstablished(t.Context(), cfg, name); err != nil {
		t.Fatal(err)
	}
}

// waitEstablished polls until the CRD is Established and its resource is
// in discovery, as kubectl's REST mapper needs. (kubectl wait trips over a
// CRD created a moment ago, whose status.conditions is still null.)
func waitEstablished(ctx context.Context, cfg *rest.Config, name string) error {
	cs, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return err
	}
	last := "not read yet"
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		crd, err := cs.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		if !slices.ContainsFunc(crd.Status.Conditions, func(c apiextensionsv1.CustomResourceDefinitionCondition) bool {
			return c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue
		}) {
			last = fmt.Sprintf("conditions %+v", crd.Status.Conditions)
			return false, nil
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			gv := crd.Spec.Group + "/" + v.Name
			resources, err := cs.Discovery().ServerResourcesForGroupVersion(gv)
			if err != nil || !slices.ContainsFunc(resources.APIResources, func(r metav1.APIResource) bool { return r.Name == crd.Spec.Names.Plural }) {
				last = fmt.Sprintf("%s not in the discovery of %s (%v)", crd.Spec.Names.Plural, gv, err)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s not established: %w; last seen: %s", name, err, last)
	}
	return nil
}
