// Package packaging tests what users install: the Helm chart in charts/sroll
// and the kustomize configuration in config/, rendered with the pinned tools
// that `make tools` builds into bin/tools.
//
// The render tests check the manifests themselves: least-privilege RBAC (no
// wildcards), the chart's ClusterRole equal to the generated
// config/rbac/role.yaml, the CRDs the chart ships equal to the generated ones,
// and a hardened Deployment. The end-to-end test installs the renders on
// the local cluster and runs the operator as the rendered ServiceAccount
// through a whole rollout, proving those permissions are enough.
package packaging

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Run(m)) }

// tool returns the path of a rendering tool built by `make tools`; make test
// builds it first, so a missing tool is a failure, not a reason to skip.
func tool(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(e2eutil.RepoRoot(), "bin", "tools", name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is not built (run make tools): %v", path, err)
	}
	return path
}

// run runs a command in the repository root and returns its standard output.
func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = e2eutil.RepoRoot()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// helmTemplate renders charts/sroll as release in namespace with the given
// values (YAML), CRDs included.
func helmTemplate(t testing.TB, release, namespace, values string) []*unstructured.Unstructured {
	t.Helper()
	valuesFile := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(valuesFile, []byte(values), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, tool(t, "helm"), "template", release, "charts/sroll",
		"--namespace", namespace, "--include-crds", "--values", valuesFile)
	return decode(t, out)
}

// kustomizeBuild renders a kustomization directory relative to the
// repository root.
func kustomizeBuild(t testing.TB, dir string) []*unstructured.Unstructured {
	t.Helper()
	return decode(t, run(t, tool(t, "kustomize"), "build", dir))
}

// decode splits a multi-document YAML stream into objects, skipping empty
// documents.
func decode(t testing.TB, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decoding rendered manifests: %v", err)
		}
		if len(doc) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: doc})
	}
}

// ofKind returns the objects of one kind.
func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	return found
}

// one returns the only object of a kind, failing when there is not exactly one.
func one(t testing.TB, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	found := ofKind(objs, kind)
	if len(found) != 1 {
		t.Fatalf("want exactly one %s, rendered %d: %v", kind, len(found), names(found))
	}
	return found[0]
}

func names(objs []*unstructured.Unstructured) []string {
	var ns []string
	for _, o := range objs {
		ns = append(ns, fmt.Sprintf("%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName()))
	}
	return ns
}
