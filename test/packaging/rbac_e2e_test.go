package packaging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

const (
	leaseName       = "sroll-operator.sroll.dev"
	rolloutReplicas = 6
	rolloutTimeout  = 4 * time.Minute
)

// rbacKinds are what the end-to-end test applies from a render: everything
// the operator's identity needs, not the Deployment (there is no container
// runtime: the operator runs as a process here instead).
var rbacKinds = []string{"CustomResourceDefinition", "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}

// TestRenderedRBACRunsARollout installs what each install method renders
// (its Deployment's pod simulated, under the restricted Pod Security
// Standard), runs the operator as a process with a token of the rendered
// ServiceAccount and the flags of the rendered Deployment, and rolls a
// 6-replica StatefulSetRollout to a new image. The operator must not be
// refused anything on the way.
func TestRenderedRBACRunsARollout(t *testing.T) {
	tool(t, "helm")
	tool(t, "kustomize")
	bin := e2eutil.BuildOperator(t, clustertest.StateDir())
	flags := operatorFlags(t, bin)

	t.Run("helm chart watching one namespace", func(t *testing.T) {
		opNS, appNS := clustertest.Namespace(t), clustertest.Namespace(t)
		release := "pkgtest-" + randomSuffix(t)
		values := fmt.Sprintf("watchNamespaces: [%s]\nclusterName: packaging-test\n", appNS)
		objs := helmTemplate(t, release, opNS, values)
		e := setupRBAC(t, objs, opNS, flags)
		applyDeployment(t, objs, opNS)
		e.checkAccess(t, appNS, true)
		e.checkAccess(t, opNS, false) // not watched: not granted
		// The webhook too, with the certificate the operator keeps: its
		// configuration is pointed at the operator's process on this host.
		port := applyWebhookConfiguration(t, objs)
		op := e.startOperator(t, bin, opNS, fmt.Sprintf("--webhook-port=%d", port), "--webhook-cert-dir="+t.TempDir(),
			"--webhook-cert-hosts=127.0.0.1")
		rollOut(t, op, appNS)
		checkWebhookRefuses(t, appNS)
	})

	t.Run("kustomize config/default watching all namespaces", func(t *testing.T) {
		opNS, appNS := clustertest.Namespace(t), clustertest.Namespace(t)
		// An overlay of config/default, as users would write one, moves it
		// into this test's namespace and names, clear of `make deploy`.
		overlay, err := os.MkdirTemp(filepath.Join(e2eutil.RepoRoot(), "bin"), "packaging-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(overlay) })
		kustomization := fmt.Sprintf("namespace: %s\nnamePrefix: pkgtest-%s-\nresources:\n- ../../config/default\n", opNS, randomSuffix(t))
		if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
			t.Fatal(err)
		}
		objs := kustomizeBuild(t, filepath.Join("bin", filepath.Base(overlay)))
		e := setupRBAC(t, objs, opNS, flags)
		applyDeployment(t, objs, opNS)
		e.checkAccess(t, appNS, true)
		e.checkAccess(t, opNS, true)
		// Without the webhook: its flags name config/default's objects, not
		// this overlay's (the helm case runs it).
		op := e.startOperator(t, bin, opNS, "--webhook-port=0")
		rollOut(t, op, appNS)
	})
}

// env is one install's rendered identity, applied to the cluster.
type env struct {
	args       []string // the rendered Deployment's container args
	kubeconfig string   // authenticates as the rendered ServiceAccount
	saConfig   *rest.Config
}

// setupRBAC applies the RBAC of a render and returns a kubeconfig for its
// ServiceAccount. Cluster-scoped objects (but the CRD) are deleted at the end.
func setupRBAC(t *testing.T, objs []*unstructured.Unstructured, opNS string, knownFlags []string) *env {
	t.Helper()
	dep := deploymentOf(t, objs)
	if dep.Namespace != opNS {
		t.Fatalf("the Deployment renders into %q, want %q", dep.Namespace, opNS)
	}
	args := dep.Spec.Template.Spec.Containers[0].Args
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !slices.Contains(knownFlags, name) {
			t.Errorf("the Deployment passes %q, which sroll-operator does not define (it has %v)", a, knownFlags)
		}
	}

	var apply []*unstructured.Unstructured
	var clusterScoped []string
	for _, o := range objs {
		if !slices.Contains(rbacKinds, o.GetKind()) {
			continue
		}
		apply = append(apply, o)
		if k := o.GetKind(); k == "ClusterRole" || k == "ClusterRoleBinding" {
			clusterScoped = append(clusterScoped, strings.ToLower(k)+"/"+o.GetName())
		}
	}
	t.Cleanup(func() {
		if out, err := clustertest.Kubectl(t, append([]string{"delete", "--ignore-not-found", "--wait=false"}, clusterScoped...)...); err != nil {
			t.Logf("deleting %v: %v\n%s", clusterScoped, err, out)
		}
	})
	manifest := filepath.Join(t.TempDir(), "rbac.yaml")
	writeManifest(t, manifest, apply)
	if out, err := clustertest.Kubectl(t, "apply", "--server-side", "--force-conflicts", "--field-manager=sroll-packaging-test", "-f", manifest); err != nil {
		t.Fatalf("applying the rendered CRDs and RBAC: %v\n%s", err, out)
	}
	for _, crd := range ofKind(apply, "CustomResourceDefinition") {
		e2eutil.WaitEstablished(t, clustertest.RestConfig(), crd.GetName())
	}

	sa := dep.Spec.Template.Spec.ServiceAccountName
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	saConfig := serviceAccountKubeconfig(t, opNS, sa, kubeconfig)
	return &env{args: args, kubeconfig: kubeconfig, saConfig: saConfig}
}

// applyDeployment applies the rest of a render, the Deployment and the
// metrics Service, in a namespace enforcing the restricted Pod Security
// Standard, and waits for the Deployment to be available: admission accepted
// its pod. The pod is simulated (kwok runs no containers), so this proves
// the manifests valid and compliant, not the image.
func applyDeployment(t *testing.T, objs []*unstructured.Unstructured, opNS string) {
	t.Helper()
	if out, err := clustertest.Kubectl(t, "label", "--overwrite", "namespace", opNS, "pod-security.kubernetes.io/enforce=restricted"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var rest []*unstructured.Unstructured
	for _, o := range objs {
		// The webhook configuration points at a Service whose pod kwok
		// simulates: calls would time out. The helm case applies it pointed
		// at the operator's process instead.
		if !slices.Contains(rbacKinds, o.GetKind()) && o.GetKind() != "ValidatingWebhookConfiguration" {
			rest = append(rest, o)
		}
	}
	manifest := filepath.Join(t.TempDir(), "deployment.yaml")
	writeManifest(t, manifest, rest)
	if out, err := clustertest.Kubectl(t, "apply", "--server-side", "--field-manager=sroll-packaging-test", "-f", manifest); err != nil {
		t.Fatalf("applying the rendered Deployment and Service: %v\n%s", err, out)
	}
	dep := deploymentOf(t, objs)
	if out, err := clustertest.Kubectl(t, "-n", opNS, "rollout", "status", "deployment/"+dep.Name, "--timeout=60s"); err != nil {
		events, _ := clustertest.Kubectl(t, "-n", opNS, "get", "events")
		t.Fatalf("the rendered Deployment did not become available: %v\n%s\n%s", err, out, events)
	}
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates with a
// TokenRequest token of the ServiceAccount, as a pod's projected token would.
func serviceAccountKubeconfig(t *testing.T, namespace, name, path string) *rest.Config {
	t.Helper()
	admin := clustertest.RestConfig()
	cs := kubernetes.NewForConfigOrDie(admin)
	ctx := t.Context()
	var token *authenticationv1.TokenRequest
	// The ServiceAccount was just applied; tolerate the moment until it is served.
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		token, err = cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Logf("token for %s/%s: %v", namespace, name, err)
		}
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("creating a token for ServiceAccount %s/%s: %v", namespace, name, err)
	}
	ca := admin.CAData
	if len(ca) == 0 && admin.CAFile != "" {
		if ca, err = os.ReadFile(admin.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{
		Server:                   admin.Host,
		CertificateAuthorityData: ca,
		TLSServerName:            admin.ServerName,
		InsecureSkipTLSVerify:    admin.Insecure,
	}
	cfg.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: token.Status.Token}
	cfg.Contexts["sa"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "sa", Namespace: namespace}
	cfg.CurrentContext = "sa"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	saConfig, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	return saConfig
}

// checkAccess asks the API server what the ServiceAccount may do in a
// namespace: what a rollout needs when granted, and never what it does not.
func (e *env) checkAccess(t *testing.T, namespace string, granted bool) {
	t.Helper()
	cs := kubernetes.NewForConfigOrDie(e.saConfig)
	can := func(verb, group, resource string) bool {
		review, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(t.Context(), &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: namespace, Verb: verb, Group: group, Resource: resource,
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SelfSubjectAccessReview: %v", err)
		}
		return review.Status.Allowed
	}
	for _, need := range [][3]string{
		{"watch", "sroll.dev", "statefulsetrollouts"},
		{"update", "sroll.dev", "statefulsetrollouts/status"},
		{"create", "apps", "statefulsets"},
		{"delete", "", "pods"},
		// A storage increase: the claims expanded, the StatefulSet
		// replaced (orphan deletion).
		{"patch", "", "persistentvolumeclaims"},
		{"delete", "apps", "statefulsets"},
		// Snapshot sets and a restore: the sets and their VolumeSnapshots,
		// each claim deleted and created again from its snapshot.
		{"create", "sroll.dev", "rolloutsnapshots"},
		{"watch", "snapshot.storage.k8s.io", "volumesnapshots"},
		{"delete", "", "persistentvolumeclaims"},
	} {
		if got := can(need[0], need[1], need[2]); got != granted {
			t.Errorf("in namespace %s the ServiceAccount may %s %s.%s: %v, want %v", namespace, need[0], need[2], need[1], got, granted)
		}
	}
	for _, never := range [][3]string{
		{"create", "", "pods"},
		{"update", "", "persistentvolumeclaims"},
		{"list", "", "secrets"},
		{"delete", "sroll.dev", "statefulsetrollouts"},
		{"create", "rbac.authorization.k8s.io", "rolebindings"},
	} {
		if can(never[0], never[1], never[2]) {
			t.Errorf("in namespace %s the ServiceAccount may %s %s.%s, which the operator never needs", namespace, never[0], never[2], never[1])
		}
	}
}

// operator is sroll-operator running as its own process.
type operator struct {
	*e2eutil.Operator
	healthAddr string
	metrics    string
}

// startOperator runs the binary with the rendered Deployment's args, its
// listeners moved to free local ports, the lease in the operator namespace,
// and the ServiceAccount's kubeconfig, then extra. It is stopped by pid at
// the end.
func (e *env) startOperator(t *testing.T, bin, opNS string, extra ...string) *operator {
	t.Helper()
	op := &operator{healthAddr: freeAddr(t), metrics: freeAddr(t)}
	op.Operator = &e2eutil.Operator{
		Bin: bin,
		Args: append(append(slices.Clone(e.args),
			"--health-probe-bind-address="+op.healthAddr,
			"--metrics-bind-address="+op.metrics,
			"--leader-election-namespace="+opNS, // in a pod: the namespace it runs in
			"--kubeconfig="+e.kubeconfig,
		), extra...),
		Kubeconfig: e.kubeconfig,
	}
	op.Start(t)
	t.Logf("sroll-operator pid %d %v", op.PID(), op.Args)
	t.Cleanup(func() { op.stopAndCheck(t) })

	// The probes the Deployment declares, on the addresses it listens on.
	for _, path := range []string{"/healthz", "/readyz"} {
		op.waitHTTP(t, "http://"+op.healthAddr+path, "")
	}
	// Leader election through the rendered Role.
	cs := kubernetes.NewForConfigOrDie(clustertest.RestConfig())
	var leaseSeen string
	op.poll(t, time.Minute, "the operator to hold lease "+opNS+"/"+leaseName, &leaseSeen, func(ctx context.Context) (bool, error) {
		lease, err := cs.CoordinationV1().Leases(opNS).Get(ctx, leaseName, metav1.GetOptions{})
		if err != nil {
			leaseSeen = err.Error()
			return false, nil
		}
		return ptr.Deref(lease.Spec.HolderIdentity, "") != "", nil
	})
	return op
}

// stopAndCheck stops the operator and fails the test if its log shows a
// refused request. (It runs before the cleanup of Start, which prints the
// log's tail when the test failed.)
func (op *operator) stopAndCheck(t *testing.T) {
	op.Stop()
	data, _ := os.ReadFile(op.Log)
	var refused []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "forbidden") && !strings.Contains(line, "being terminated") {
			refused = append(refused, line)
		}
	}
	if len(refused) > 0 {
		t.Errorf("the operator was refused %d requests, its RBAC is insufficient; the first:\n%s",
			len(refused), strings.Join(refused[:min(3, len(refused))], "\n"))
	}
}

// poll waits for cond, failing with what and the last state seen.
func (op *operator) poll(t *testing.T, timeout time.Duration, what string, lastSeen *string, cond wait.ConditionWithContextFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		select {
		case <-op.Exited():
			return false, errors.New("the operator exited")
		default:
		}
		return cond(ctx)
	})
	if err != nil {
		last := ""
		if lastSeen != nil {
			last = "; last seen: " + *lastSeen
		}
		t.Fatalf("waiting for %s: %v%s", what, err, last)
	}
}

// waitHTTP waits for a 200 from url whose body contains want.
func (op *operator) waitHTTP(t *testing.T, url, want string) {
	t.Helper()
	var last string
	op.poll(t, time.Minute, url, &last, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		last = fmt.Sprintf("%s: %.200s", resp.Status, body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), want), nil
	})
}

// rollOut creates a 6-replica rollout, waits for it, changes its image and
// waits for every pod to run the new revision.
func rollOut(t *testing.T, op *operator, namespace string) {
	t.Helper()
	c := e2eutil.Client(t, clustertest.RestConfig())
	ctx := t.Context()
	// Unstructured, as kubectl would send it: the typed spec would carry an
	// empty updateStrategy, which the API refuses (sroll owns it).
	manifest := fmt.Sprintf(`
apiVersion: sroll.dev/v1alpha1
kind: StatefulSetRollout
metadata: {name: kv, namespace: %s}
spec:
  replicas: %d
  serviceName: kv
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: kv}}
  template:
    metadata: {labels: {app: kv}}
    spec:
      containers:
      - {name: kv, image: "registry.example/kv:1.0"}
  rollout:
    maxUnavailable: 2
    steps: [{percent: 50}, {percent: 100}]
`, namespace, rolloutReplicas)
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, obj); err != nil {
		t.Fatalf("creating the rollout: %v", err)
	}
	ro := &v1alpha1.StatefulSetRollout{ObjectMeta: metav1.ObjectMeta{Name: "kv", Namespace: namespace}}
	start := time.Now()
	first := waitCompleted(t, op, c, ro, "")
	t.Logf("%d pods ready on %s after %s", rolloutReplicas, first.UpdateRevision, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	patch := []byte(`[{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "registry.example/kv:2.0"}]`)
	if err := c.Patch(ctx, obj, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		t.Fatalf("changing the image: %v", err)
	}
	done := waitCompleted(t, op, c, ro, first.UpdateRevision)
	t.Logf("rolled out %s -> %s in %s", first.UpdateRevision, done.UpdateRevision, time.Since(start).Round(time.Millisecond))

	// Metrics are served where the rendered flags say, through the rollout.
	op.waitHTTP(t, "http://"+op.metrics+"/metrics", "controller_runtime_reconcile_total")
}

// waitCompleted waits until the rollout has observed its generation, is
// Completed on a revision other than previous, and every pod runs that
// revision and is Ready.
func waitCompleted(t *testing.T, op *operator, c client.Client, ro *v1alpha1.StatefulSetRollout, previous string) v1alpha1.StatefulSetRolloutStatus {
	t.Helper()
	var status v1alpha1.StatefulSetRolloutStatus
	var why string
	op.poll(t, rolloutTimeout, "rollout "+ro.Namespace+"/"+ro.Name+" to complete", &why, func(ctx context.Context) (bool, error) {
		var cur v1alpha1.StatefulSetRollout
		if err := c.Get(ctx, client.ObjectKeyFromObject(ro), &cur); err != nil {
			why = err.Error()
			return false, nil
		}
		status = cur.Status
		switch {
		case status.ObservedGeneration < cur.Generation:
			why = fmt.Sprintf("observed generation %d of %d", status.ObservedGeneration, cur.Generation)
			return false, nil
		case status.Phase != v1alpha1.PhaseCompleted:
			why = fmt.Sprintf("phase %q: %s", status.Phase, status.Message)
			return false, nil
		case status.UpdateRevision == "" || status.UpdateRevision == previous:
			why = "update revision " + status.UpdateRevision
			return false, nil
		}
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(ro.Namespace), client.MatchingLabels(cur.Spec.Selector.MatchLabels)); err != nil {
			why = err.Error()
			return false, nil
		}
		updated := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Labels[appsv1.ControllerRevisionHashLabelKey] == status.UpdateRevision && e2eutil.PodReady(&p) {
				updated++
			}
		}
		why = fmt.Sprintf("%d of %d pods Ready on %s", updated, len(pods.Items), status.UpdateRevision)
		return updated == rolloutReplicas && len(pods.Items) == rolloutReplicas, nil
	})
	return status
}

// operatorFlags lists the flags the binary defines, from its -h output.
func operatorFlags(t *testing.T, bin string) []string {
	t.Helper()
	out, _ := exec.Command(bin, "-h").CombinedOutput() // -h exits 0 or 2
	var flags []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if name, ok := strings.CutPrefix(line, "-"); ok {
			name, _, _ = strings.Cut(name, " ")
			flags = append(flags, strings.TrimLeft(name, "-"))
		}
	}
	for _, want := range []string{"kubeconfig", "leader-elect", "namespace", "metrics-bind-address", "health-probe-bind-address"} {
		if !slices.Contains(flags, want) {
			t.Fatalf("sroll-operator -h lists no -%s:\n%s", want, out)
		}
	}
	return flags
}

func writeManifest(t *testing.T, path string, objs []*unstructured.Unstructured) {
	t.Helper()
	var b strings.Builder
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// applyWebhookConfiguration applies the render's ValidatingWebhookConfiguration
// pointed at a free port on this host instead of its Service, deletes it at
// the end, and returns the port.
func applyWebhookConfiguration(t *testing.T, objs []*unstructured.Unstructured) int {
	t.Helper()
	config := one(t, objs, "ValidatingWebhookConfiguration").DeepCopy()
	_, port, err := net.SplitHostPort(freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	webhooks, _, _ := unstructured.NestedSlice(config.Object, "webhooks")
	for i := range webhooks {
		hook := webhooks[i].(map[string]any)
		path, _, _ := unstructured.NestedString(hook, "clientConfig", "service", "path")
		hook["clientConfig"] = map[string]any{"url": "https://127.0.0.1:" + port + path}
		// Refuse what the webhook can't check, so a broken certificate fails the test.
		hook["failurePolicy"] = "Fail"
	}
	if err := unstructured.SetNestedSlice(config.Object, webhooks, "webhooks"); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(t.TempDir(), "webhook.yaml")
	writeManifest(t, manifest, []*unstructured.Unstructured{config})
	if out, err := clustertest.Kubectl(t, "apply", "--server-side", "--field-manager=sroll-packaging-test", "-f", manifest); err != nil {
		t.Fatalf("applying the webhook configuration: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_, _ = clustertest.Kubectl(t, "delete", "--ignore-not-found", "validatingwebhookconfiguration", config.GetName())
	})
	n, _ := strconv.Atoi(port)
	return n
}

// checkWebhookRefuses checks that a rollout the StatefulSet API refuses is
// refused at apply, through the rendered webhook and RBAC.
func checkWebhookRefuses(t *testing.T, namespace string) {
	t.Helper()
	bad := e2eutil.NewRollout(namespace, "bad", 1, intstr.FromInt32(1))
	bad.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 99999}}
	c := e2eutil.Client(t, clustertest.RestConfig())
	err := c.Create(t.Context(), bad)
	if err == nil || !strings.Contains(err.Error(), "refused by the API server") || !strings.Contains(err.Error(), "99999") {
		t.Errorf("creating a rollout with containerPort 99999: %v, want the webhook's refusal", err)
	}
}
