package packaging

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/sroll-dev/sroll/internal/admission"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

const (
	defaultImage   = "ghcr.io/sroll-dev/sroll:latest"
	generatedRole  = "config/rbac/role.yaml"
	generatedCRDs  = "config/crd/bases"
	chartCRDs      = "charts/sroll/crds"
	chartRoleCopy  = "charts/sroll/files/operator-role.yaml"
	metricsPort    = 8080
	healthPort     = 8081
	kustomizeNS    = "sroll-system"
	kustomizeRole  = "sroll-operator"
	testRelease    = "sroll"
	testReleaseNS  = "sroll-system"
	fixtureNSOne   = "team-a"
	fixtureNSTwo   = "team-b"
	fixtureCluster = "prod-eu-1"
)

// chartVariants are value sets that change which objects the chart renders.
var chartVariants = map[string]string{
	"defaults":            "",
	"watchNamespaces":     "watchNamespaces: [" + fixtureNSOne + ", " + fixtureNSTwo + "]\nclusterName: " + fixtureCluster + "\n",
	"allowedHosts":        "allowedHosts: [slack.com, '*.deploy.example.com']\n",
	"certManager":         "webhook: {certManager: {enabled: true}}\n",
	"noWebhook":           "webhook: {enabled: false}\n",
	"noLeaderElection":    "leaderElection: {enabled: false}\n",
	"noMetrics":           "metrics: {enabled: false}\n",
	"existingSA":          "serviceAccount: {create: false, name: existing}\n",
	"scheduling":          "nodeSelector: {pool: system}\ntolerations: [{key: dedicated, operator: Exists}]\naffinity: {nodeAffinity: {}}\nreplicas: 2\n",
	"imageOverride":       "image: {repository: registry.example/sroll, tag: v9.9.9, pullPolicy: Always}\n",
	"metricsWithoutSvc":   "metrics: {port: 9090, service: {enabled: false}}\n",
	"serviceMonitor":      "metrics: {serviceMonitor: {enabled: true, interval: 15s, labels: {release: prometheus}}}\n",
	"resourcesAndContext": "resources: {limits: {cpu: '1'}}\npodSecurityContext: {runAsUser: 1000, runAsGroup: 1000}\n",
}

// renders are every manifest set users can install.
func renders(t *testing.T) map[string][]*unstructured.Unstructured {
	t.Helper()
	out := map[string][]*unstructured.Unstructured{
		"kustomize config/default": kustomizeBuild(t, "config/default"),
	}
	for name, values := range chartVariants {
		out["helm "+name] = helmTemplate(t, testRelease, testReleaseNS, values)
	}
	return out
}

func TestHelmLint(t *testing.T) {
	run(t, tool(t, "helm"), "lint", "--strict", "charts/sroll")
}

// TestRBACHasNoWildcards: least privilege, so no rule grants every verb,
// resource, group, name or URL.
func TestRBACHasNoWildcards(t *testing.T) {
	check := func(t *testing.T, where string, rules []rbacv1.PolicyRule) {
		t.Helper()
		if len(rules) == 0 {
			t.Errorf("%s: no rules", where)
		}
		for i, r := range rules {
			for field, values := range map[string][]string{
				"verbs": r.Verbs, "resources": r.Resources, "apiGroups": r.APIGroups,
				"resourceNames": r.ResourceNames, "nonResourceURLs": r.NonResourceURLs,
			} {
				for _, v := range values {
					if strings.Contains(v, "*") {
						t.Errorf("%s: rule %d grants %s %q", where, i, field, v)
					}
				}
			}
		}
	}
	check(t, generatedRole, readClusterRole(t, generatedRole).Rules)
	for render, objs := range renders(t) {
		roles := append(ofKind(objs, "ClusterRole"), ofKind(objs, "Role")...)
		if len(roles) == 0 {
			t.Errorf("%s: renders no Role or ClusterRole", render)
		}
		for _, o := range roles {
			if o.Object["aggregationRule"] != nil {
				t.Errorf("%s: %s %s aggregates other roles", render, o.GetKind(), o.GetName())
			}
			check(t, render+": "+o.GetKind()+" "+o.GetName(), rulesOf(t, o))
		}
	}
}

// TestChartRulesMatchGeneratedRole: the chart and config/rbac grant exactly
// what the RBAC markers in internal/controller generate, nothing more or less.
func TestChartRulesMatchGeneratedRole(t *testing.T) {
	want := readClusterRole(t, generatedRole)
	if want.Name != kustomizeRole {
		t.Errorf("%s names the ClusterRole %q, want %q", generatedRole, want.Name, kustomizeRole)
	}
	for render, objs := range renders(t) {
		got := rulesOf(t, one(t, operatorObjects(objs), "ClusterRole"))
		if missing, extra := diffRules(want.Rules, got); len(missing)+len(extra) > 0 {
			t.Errorf("%s: ClusterRole differs from %s (run make generate)\nmissing: %v\nextra:   %v",
				render, generatedRole, missing, extra)
		}
	}
	// Byte for byte too, so the stale copy is named.
	sameFile(t, generatedRole, chartRoleCopy)
}

// TestNodeGrantOnlyClusterWide: the permission on nodes (fencing) is a
// ClusterRole of its own with get, list, watch and patch, bound cluster-wide
// when the operator watches every namespace, and absent when it watches
// some: a namespaced install never holds a cluster-scoped grant.
func TestNodeGrantOnlyClusterWide(t *testing.T) {
	for render, objs := range renders(t) {
		nodes := nodeObjects(objs)
		if render == "helm watchNamespaces" {
			if len(nodes) != 0 {
				t.Errorf("%s: renders %v, want no grant on nodes", render, names(nodes))
			}
			for _, o := range append(ofKind(objs, "ClusterRole"), ofKind(objs, "Role")...) {
				for g := range expand(rulesOf(t, o)) {
					if strings.Contains(g, " nodes ") {
						t.Errorf("%s: %s %s grants %q", render, o.GetKind(), o.GetName(), g)
					}
				}
			}
			continue
		}
		role, binding := one(t, nodes, "ClusterRole"), one(t, nodes, "ClusterRoleBinding")
		grants := expand(rulesOf(t, role))
		for _, verb := range []string{"get", "list", "watch", "patch"} {
			if !grants[verb+" nodes (any)"] {
				t.Errorf("%s: %s cannot %s nodes: %v", render, role.GetName(), verb, grants)
			}
		}
		if len(grants) != 4 {
			t.Errorf("%s: %s grants more than nodes: %v", render, role.GetName(), grants)
		}
		if ref := binding.Object["roleRef"].(map[string]any); ref["name"] != role.GetName() {
			t.Errorf("%s: %s refers to %v", render, binding.GetName(), ref)
		}
	}
}

// TestChartCRDsMatchGenerated: charts/sroll/crds is a copy of config/crd/bases.
func TestChartCRDsMatchGenerated(t *testing.T) {
	root := e2eutil.RepoRoot()
	gen, _ := filepath.Glob(filepath.Join(root, generatedCRDs, "*.yaml"))
	chart, _ := filepath.Glob(filepath.Join(root, chartCRDs, "*.yaml"))
	if len(gen) == 0 {
		t.Fatalf("no CRDs in %s", generatedCRDs)
	}
	base := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	if !slices.Equal(base(gen), base(chart)) {
		t.Fatalf("%s has %v, %s has %v (run make generate)", chartCRDs, base(chart), generatedCRDs, base(gen))
	}
	for _, name := range base(gen) {
		sameFile(t, filepath.Join(generatedCRDs, name), filepath.Join(chartCRDs, name))
	}
	objs := helmTemplate(t, testRelease, testReleaseNS, "")
	if crds := ofKind(objs, "CustomResourceDefinition"); len(crds) != len(gen) {
		t.Errorf("helm template --include-crds renders %d CRDs, want %d", len(crds), len(gen))
	}
}

// TestDeploymentHardened: every render runs the operator non-root, read-only,
// without capabilities, under the runtime's seccomp profile, with probes and
// the metrics port where the binary serves them.
func TestDeploymentHardened(t *testing.T) {
	for render, objs := range renders(t) {
		t.Run(render, func(t *testing.T) {
			dep := deploymentOf(t, objs)
			pod := dep.Spec.Template.Spec
			if len(pod.Containers) != 1 {
				t.Fatalf("want one container, got %d", len(pod.Containers))
			}
			c := pod.Containers[0]
			psc, csc := pod.SecurityContext, c.SecurityContext
			if csc == nil {
				t.Fatal("container has no securityContext")
			}
			nonRoot := (csc.RunAsNonRoot != nil && *csc.RunAsNonRoot) || (psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
			if !nonRoot {
				t.Error("runAsNonRoot is not set")
			}
			seccomp := csc.SeccompProfile
			if seccomp == nil && psc != nil {
				seccomp = psc.SeccompProfile
			}
			if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("seccompProfile is %v, want RuntimeDefault", seccomp)
			}
			if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
				t.Error("readOnlyRootFilesystem is not true")
			}
			if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
				t.Error("allowPrivilegeEscalation is not false")
			}
			if csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") || len(csc.Capabilities.Add) > 0 {
				t.Errorf("capabilities are %+v, want drop ALL and add none", csc.Capabilities)
			}
			if csc.Privileged != nil && *csc.Privileged {
				t.Error("privileged")
			}
			if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("resources %+v: want a memory request and limit", c.Resources)
			}
			checkProbe(t, "liveness", c, c.LivenessProbe, "/healthz")
			checkProbe(t, "readiness", c, c.ReadinessProbe, "/readyz")
			if arg(c.Args, "--health-probe-bind-address") != ":8081" {
				t.Errorf("args %v: want --health-probe-bind-address=:8081", c.Args)
			}
			checkServiceAccount(t, objs, dep)
		})
	}
}

// TestKustomizeDefault: namespace, name prefix, image, metrics.
func TestKustomizeDefault(t *testing.T) {
	all := kustomizeBuild(t, "config/default")
	checkWebhook(t, all, false)
	objs := operatorObjects(all)
	for _, o := range objs {
		switch o.GetKind() {
		case "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding":
		case "Namespace":
			if o.GetName() != kustomizeNS {
				t.Errorf("Namespace %q, want %q", o.GetName(), kustomizeNS)
			}
		default:
			if o.GetNamespace() != kustomizeNS {
				t.Errorf("%s %s is in namespace %q, want %q", o.GetKind(), o.GetName(), o.GetNamespace(), kustomizeNS)
			}
		}
		if o.GetKind() != "CustomResourceDefinition" && o.GetKind() != "Namespace" && !strings.HasPrefix(o.GetName(), "sroll-") {
			t.Errorf("%s %s lacks the sroll- prefix", o.GetKind(), o.GetName())
		}
	}
	one(t, objs, "Namespace")
	if crds := ofKind(objs, "CustomResourceDefinition"); len(crds) != 2 {
		t.Errorf("want the two CRDs (statefulsetrollouts, rolloutsnapshots), rendered %d", len(crds))
	}
	if role := one(t, objs, "ClusterRole"); role.GetName() != kustomizeRole {
		t.Errorf("ClusterRole is named %q, want %q", role.GetName(), kustomizeRole)
	}
	one(t, objs, "ClusterRoleBinding")
	checkLeaderElectionRole(t, objs, kustomizeNS)
	dep := deploymentOf(t, objs)
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Image != defaultImage {
		t.Errorf("image %q, want %q", c.Image, defaultImage)
	}
	if arg(c.Args, "--leader-elect") != "true" {
		t.Errorf("args %v: want leader election", c.Args)
	}
	if got := arg(c.Args, "--allowed-hosts"); got != egress.DefaultAllowedHosts {
		t.Errorf("--allowed-hosts=%q, want the operator's default %q", got, egress.DefaultAllowedHosts)
	}
	checkMetrics(t, objs, dep, metricsPort, true)
}

// TestChartValues: each value does what values.yaml says.
func TestChartValues(t *testing.T) {
	render := func(t *testing.T, variant string) ([]*unstructured.Unstructured, *appsv1.Deployment, corev1.Container) {
		objs := helmTemplate(t, testRelease, testReleaseNS, chartVariants[variant])
		dep := deploymentOf(t, objs)
		return operatorObjects(objs), dep, dep.Spec.Template.Spec.Containers[0]
	}
	t.Run("defaults", func(t *testing.T) {
		objs, dep, c := render(t, "defaults")
		for _, o := range objs {
			if o.GetKind() != "CustomResourceDefinition" && o.GetKind() != "ClusterRole" && o.GetKind() != "ClusterRoleBinding" && o.GetNamespace() != testReleaseNS {
				t.Errorf("%s %s is in namespace %q, want the release namespace", o.GetKind(), o.GetName(), o.GetNamespace())
			}
		}
		if c.Image != defaultImage || c.ImagePullPolicy != corev1.PullIfNotPresent {
			t.Errorf("image %q (%s), want %q (IfNotPresent)", c.Image, c.ImagePullPolicy, defaultImage)
		}
		if *dep.Spec.Replicas != 1 {
			t.Errorf("replicas %d, want 1", *dep.Spec.Replicas)
		}
		if arg(c.Args, "--leader-elect") != "true" {
			t.Errorf("args %v: want --leader-elect=true", c.Args)
		}
		if arg(c.Args, "--namespace") != "" || arg(c.Args, "--cluster-name") != "" {
			t.Errorf("args %v: want neither --namespace nor --cluster-name", c.Args)
		}
		if got := arg(c.Args, "--allowed-hosts"); got != egress.DefaultAllowedHosts {
			t.Errorf("--allowed-hosts=%q, want the operator's default %q", got, egress.DefaultAllowedHosts)
		}
		binding := one(t, objs, "ClusterRoleBinding")
		if ref := binding.Object["roleRef"].(map[string]any); ref["name"] != one(t, objs, "ClusterRole").GetName() {
			t.Errorf("ClusterRoleBinding refers to %v", ref)
		}
		checkLeaderElectionRole(t, objs, testReleaseNS)
		checkMetrics(t, objs, dep, metricsPort, true)
	})
	t.Run("watchNamespaces", func(t *testing.T) {
		objs, _, c := render(t, "watchNamespaces")
		if got := arg(c.Args, "--namespace"); got != fixtureNSOne+","+fixtureNSTwo {
			t.Errorf("--namespace=%q, want %s,%s", got, fixtureNSOne, fixtureNSTwo)
		}
		if got := arg(c.Args, "--cluster-name"); got != fixtureCluster {
			t.Errorf("--cluster-name=%q, want %q", got, fixtureCluster)
		}
		if crbs := ofKind(objs, "ClusterRoleBinding"); len(crbs) != 0 {
			t.Errorf("watching some namespaces must not bind cluster-wide: %v", names(crbs))
		}
		role := one(t, objs, "ClusterRole").GetName()
		bound := map[string]bool{}
		for _, rb := range ofKind(objs, "RoleBinding") {
			ref := rb.Object["roleRef"].(map[string]any)
			if ref["kind"] == "ClusterRole" && ref["name"] == role {
				bound[rb.GetNamespace()] = true
			}
		}
		if len(bound) != 2 || !bound[fixtureNSOne] || !bound[fixtureNSTwo] {
			t.Errorf("ClusterRole bound in %v, want %s and %s", bound, fixtureNSOne, fixtureNSTwo)
		}
	})
	t.Run("webhook", func(t *testing.T) {
		checkWebhook(t, helmTemplate(t, testRelease, testReleaseNS, ""), false)
	})
	t.Run("certManager", func(t *testing.T) {
		checkWebhook(t, helmTemplate(t, testRelease, testReleaseNS, chartVariants["certManager"]), true)
	})
	t.Run("noWebhook", func(t *testing.T) {
		objs := helmTemplate(t, testRelease, testReleaseNS, chartVariants["noWebhook"])
		if hooks := ofKind(objs, "ValidatingWebhookConfiguration"); len(hooks) != 0 || len(webhookObjects(objs)) != 0 {
			t.Errorf("webhook.enabled=false, yet rendered %v", names(webhookObjects(objs)))
		}
		if c := deploymentOf(t, objs).Spec.Template.Spec.Containers[0]; arg(c.Args, "--webhook-port") != "" {
			t.Errorf("webhook.enabled=false, yet args %v", c.Args)
		}
	})
	t.Run("allowedHosts", func(t *testing.T) {
		_, _, c := render(t, "allowedHosts")
		if got, want := arg(c.Args, "--allowed-hosts"), "slack.com,*.deploy.example.com"; got != want {
			t.Errorf("--allowed-hosts=%q, want %q", got, want)
		}
	})
	t.Run("noLeaderElection", func(t *testing.T) {
		objs, _, c := render(t, "noLeaderElection")
		if arg(c.Args, "--leader-elect") != "false" {
			t.Errorf("args %v: want --leader-elect=false", c.Args)
		}
		if roles := ofKind(objs, "Role"); len(roles) != 0 {
			t.Errorf("leader election disabled, yet rendered %v", names(roles))
		}
	})
	t.Run("noMetrics", func(t *testing.T) {
		objs, dep, _ := render(t, "noMetrics")
		checkMetrics(t, objs, dep, 0, false)
	})
	t.Run("metricsWithoutSvc", func(t *testing.T) {
		objs, dep, _ := render(t, "metricsWithoutSvc")
		checkMetrics(t, objs, dep, 9090, false)
	})
	t.Run("serviceMonitor", func(t *testing.T) {
		if sms := ofKind(helmTemplate(t, testRelease, testReleaseNS, chartVariants["defaults"]), "ServiceMonitor"); len(sms) != 0 {
			t.Errorf("a ServiceMonitor by default: %v", names(sms))
		}
		// Every object, the webhook's Service too: the monitor must not select it.
		objs := helmTemplate(t, testRelease, testReleaseNS, chartVariants["serviceMonitor"])
		sm := one(t, objs, "ServiceMonitor")
		if sm.GetNamespace() != testReleaseNS || sm.GetLabels()["release"] != "prometheus" {
			t.Errorf("ServiceMonitor %s/%s labels %v: want the release namespace and release=prometheus", sm.GetNamespace(), sm.GetName(), sm.GetLabels())
		}
		// It selects the metrics Service, and only it, by its labels and port.
		selector, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
		var selected []string
		for _, svc := range ofKind(objs, "Service") {
			if labels.SelectorFromSet(selector).Matches(labels.Set(svc.GetLabels())) {
				selected = append(selected, svc.GetName())
				ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
				if len(ports) != 1 || ports[0].(map[string]any)["name"] != "http-metrics" {
					t.Errorf("selected Service %s has ports %v, want http-metrics", svc.GetName(), ports)
				}
			}
		}
		if len(selected) != 1 {
			t.Errorf("ServiceMonitor selects Services %v, want the metrics Service only", selected)
		}
		endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		if fmt.Sprint(endpoints) != "[map[interval:15s path:/metrics port:http-metrics]]" {
			t.Errorf("endpoints %v", endpoints)
		}
		// Without the Service there is nothing to scrape: the chart refuses.
		cmd := exec.Command(tool(t, "helm"), "template", "x", "charts/sroll", "--set", "metrics.serviceMonitor.enabled=true,metrics.service.enabled=false")
		cmd.Dir = e2eutil.RepoRoot()
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "metrics.serviceMonitor.enabled needs metrics.service.enabled") {
			t.Errorf("serviceMonitor without the Service: %v\n%s", err, out)
		}
	})
	t.Run("existingSA", func(t *testing.T) {
		objs, dep, _ := render(t, "existingSA")
		if sas := ofKind(objs, "ServiceAccount"); len(sas) != 0 {
			t.Errorf("serviceAccount.create=false, yet rendered %v", names(sas))
		}
		if dep.Spec.Template.Spec.ServiceAccountName != "existing" {
			t.Errorf("serviceAccountName %q, want existing", dep.Spec.Template.Spec.ServiceAccountName)
		}
	})
	t.Run("scheduling", func(t *testing.T) {
		_, dep, _ := render(t, "scheduling")
		pod := dep.Spec.Template.Spec
		if pod.NodeSelector["pool"] != "system" || len(pod.Tolerations) != 1 || pod.Affinity == nil || pod.Affinity.NodeAffinity == nil {
			t.Errorf("nodeSelector %v, tolerations %v, affinity %v", pod.NodeSelector, pod.Tolerations, pod.Affinity)
		}
		if *dep.Spec.Replicas != 2 {
			t.Errorf("replicas %d, want 2", *dep.Spec.Replicas)
		}
	})
	t.Run("imageOverride", func(t *testing.T) {
		_, _, c := render(t, "imageOverride")
		if c.Image != "registry.example/sroll:v9.9.9" || c.ImagePullPolicy != corev1.PullAlways {
			t.Errorf("image %q (%s)", c.Image, c.ImagePullPolicy)
		}
	})
	t.Run("resourcesAndContext", func(t *testing.T) {
		_, dep, c := render(t, "resourcesAndContext")
		if c.Resources.Limits.Cpu().String() != "1" {
			t.Errorf("resources %+v", c.Resources)
		}
		sc := dep.Spec.Template.Spec.SecurityContext
		if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 1000 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Errorf("podSecurityContext %+v, want runAsUser 1000 merged into the defaults", sc)
		}
	})
}

func readClusterRole(t testing.TB, path string) *rbacv1.ClusterRole {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e2eutil.RepoRoot(), path))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(bytes.TrimPrefix(data, []byte("---\n")), &role); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if role.Kind != "ClusterRole" {
		t.Fatalf("%s holds a %q, want a ClusterRole", path, role.Kind)
	}
	return &role
}

func rulesOf(t testing.TB, o *unstructured.Unstructured) []rbacv1.PolicyRule {
	t.Helper()
	var role rbacv1.ClusterRole // a Role's rules have the same shape
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &role, true); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
	return role.Rules
}

// diffRules compares what two rule lists grant, one (group, resource, name,
// verb) or (URL, verb) at a time, so order and grouping do not matter.
func diffRules(want, got []rbacv1.PolicyRule) (missing, extra []string) {
	w, g := expand(want), expand(got)
	for p := range w {
		if !g[p] {
			missing = append(missing, p)
		}
	}
	for p := range g {
		if !w[p] {
			extra = append(extra, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}

func expand(rules []rbacv1.PolicyRule) map[string]bool {
	grants := map[string]bool{}
	for _, r := range rules {
		for _, verb := range r.Verbs {
			for _, url := range r.NonResourceURLs {
				grants["url "+url+" "+verb] = true
			}
			resourceNames := r.ResourceNames
			if len(resourceNames) == 0 {
				resourceNames = []string{"(any)"}
			}
			for _, group := range r.APIGroups {
				for _, res := range r.Resources {
					for _, name := range resourceNames {
						key := res
						if group != "" {
							key += "." + group
						}
						grants[verb+" "+key+" "+name] = true
					}
				}
			}
		}
	}
	return grants
}

func sameFile(t *testing.T, want, got string) {
	t.Helper()
	root := e2eutil.RepoRoot()
	w, err := os.ReadFile(filepath.Join(root, want))
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.ReadFile(filepath.Join(root, got))
	if err != nil {
		t.Fatalf("%v (run make generate)", err)
	}
	if !bytes.Equal(w, g) {
		t.Errorf("%s differs from %s: run make generate", got, want)
	}
}

func deploymentOf(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	var dep appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(one(t, objs, "Deployment").Object, &dep, true); err != nil {
		t.Fatal(err)
	}
	if len(dep.Spec.Template.Spec.Containers) == 0 {
		t.Fatal("the Deployment has no container")
	}
	return &dep
}

// arg returns the value of --name=value (or "true" for a bare --name) from
// args, the last one winning as in Go's flag package.
func arg(args []string, name string) string {
	value := ""
	for _, a := range args {
		if a == name {
			value = "true"
		} else if v, ok := strings.CutPrefix(a, name+"="); ok {
			value = v
		}
	}
	return value
}

// containerPort resolves a probe's or Service's target port, by name or
// number, against the container's ports; 0 when it matches none.
func containerPort(c corev1.Container, nameOrNumber string) int32 {
	for _, p := range c.Ports {
		if p.Name != "" && p.Name == nameOrNumber {
			return p.ContainerPort
		}
	}
	n, err := strconv.Atoi(nameOrNumber)
	if err != nil {
		return 0
	}
	for _, p := range c.Ports {
		if p.ContainerPort == int32(n) {
			return p.ContainerPort
		}
	}
	return 0
}

func checkProbe(t *testing.T, kind string, c corev1.Container, p *corev1.Probe, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("no HTTP %s probe", kind)
		return
	}
	if p.HTTPGet.Path != path || containerPort(c, p.HTTPGet.Port.String()) != healthPort {
		t.Errorf("%s probe %s on port %s, want %s on %d", kind, p.HTTPGet.Path, p.HTTPGet.Port.String(), path, healthPort)
	}
}

// checkMetrics: port 0 means metrics are off.
func checkMetrics(t *testing.T, objs []*unstructured.Unstructured, dep *appsv1.Deployment, port int32, service bool) {
	t.Helper()
	c := dep.Spec.Template.Spec.Containers[0]
	wantArg := "0"
	if port != 0 {
		wantArg = ":" + strconv.Itoa(int(port))
		if containerPort(c, "http-metrics") != port {
			t.Errorf("container ports %+v: want http-metrics %d", c.Ports, port)
		}
	} else if containerPort(c, "http-metrics") != 0 {
		t.Errorf("metrics off, yet port http-metrics is declared")
	}
	if got := arg(c.Args, "--metrics-bind-address"); got != wantArg {
		t.Errorf("--metrics-bind-address=%q, want %q", got, wantArg)
	}
	svcs := ofKind(objs, "Service")
	if !service {
		if len(svcs) != 0 {
			t.Errorf("want no metrics Service, rendered %v", names(svcs))
		}
		return
	}
	var svc corev1.Service
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(one(t, objs, "Service").Object, &svc); err != nil {
		t.Fatal(err)
	}
	podLabels := dep.Spec.Template.Labels
	for k, v := range svc.Spec.Selector {
		if podLabels[k] != v {
			t.Errorf("Service selector %v does not select the pod labels %v", svc.Spec.Selector, podLabels)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != port || containerPort(c, svc.Spec.Ports[0].TargetPort.String()) != port {
		t.Errorf("Service ports %+v, want %d to the metrics port", svc.Spec.Ports, port)
	}
}

func checkServiceAccount(t *testing.T, objs []*unstructured.Unstructured, dep *appsv1.Deployment) {
	t.Helper()
	sa := dep.Spec.Template.Spec.ServiceAccountName
	if sa == "" || sa == "default" {
		t.Fatalf("serviceAccountName %q", sa)
	}
	if sas := ofKind(objs, "ServiceAccount"); len(sas) > 0 && (len(sas) != 1 || sas[0].GetName() != sa || sas[0].GetNamespace() != dep.Namespace) {
		t.Errorf("ServiceAccounts %v, want %s/%s", names(sas), dep.Namespace, sa)
	}
	bindings := append(ofKind(objs, "ClusterRoleBinding"), ofKind(objs, "RoleBinding")...)
	if len(bindings) == 0 {
		t.Error("no bindings")
	}
	for _, b := range bindings {
		var rb rbacv1.RoleBinding // a ClusterRoleBinding has the same shape
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(b.Object, &rb); err != nil {
			t.Fatal(err)
		}
		if len(rb.Subjects) != 1 || rb.Subjects[0].Kind != "ServiceAccount" || rb.Subjects[0].Name != sa || rb.Subjects[0].Namespace != dep.Namespace {
			t.Errorf("%s %s binds %+v, want ServiceAccount %s/%s", b.GetKind(), b.GetName(), rb.Subjects, dep.Namespace, sa)
		}
		roles := ofKind(objs, rb.RoleRef.Kind)
		if !slices.ContainsFunc(roles, func(r *unstructured.Unstructured) bool { return r.GetName() == rb.RoleRef.Name }) {
			t.Errorf("%s %s refers to %s %s, which is not rendered", b.GetKind(), b.GetName(), rb.RoleRef.Kind, rb.RoleRef.Name)
		}
	}
}

// checkLeaderElectionRole: a Role for leases in the operator's namespace,
// bound to the operator.
func checkLeaderElectionRole(t *testing.T, objs []*unstructured.Unstructured, namespace string) {
	t.Helper()
	role := one(t, objs, "Role")
	if role.GetNamespace() != namespace {
		t.Errorf("leader election Role in %q, want %q", role.GetNamespace(), namespace)
	}
	grants := expand(rulesOf(t, role))
	for _, verb := range []string{"get", "create", "update"} {
		if !grants[verb+" leases.coordination.k8s.io (any)"] {
			t.Errorf("leader election Role cannot %s leases: %v", verb, grants)
		}
	}
	bound := false
	for _, rb := range ofKind(objs, "RoleBinding") {
		ref := rb.Object["roleRef"].(map[string]any)
		bound = bound || (ref["kind"] == "Role" && ref["name"] == role.GetName() && rb.GetNamespace() == namespace)
	}
	if !bound {
		t.Error("the leader election Role is not bound")
	}
}

// webhookObjects are a render's objects of the admission webhook: its
// configuration, Service, certificate and the RBAC to keep the certificate.
func webhookObjects(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		switch {
		case o.GetKind() == "ValidatingWebhookConfiguration", o.GetKind() == "Certificate", o.GetKind() == "Issuer",
			o.GetKind() == "Service" && strings.HasSuffix(o.GetName(), "-webhook"),
			strings.HasSuffix(o.GetName(), "-webhook-cert"):
			out = append(out, o)
		}
	}
	return out
}

// nodeObjects are a render's cluster-scoped grant on nodes, for fencing.
func nodeObjects(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if (o.GetKind() == "ClusterRole" || o.GetKind() == "ClusterRoleBinding") && strings.HasSuffix(o.GetName(), "-nodes") {
			out = append(out, o)
		}
	}
	return out
}

// operatorObjects are a render's objects but the webhook's and the node grant.
func operatorObjects(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	others := append(webhookObjects(objs), nodeObjects(objs)...)
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if !slices.Contains(others, o) {
			out = append(out, o)
		}
	}
	return out
}

// checkWebhook checks that a render's webhook fits together: the
// configuration calls the validator's path through the Service, which
// reaches the container's webhook port; the certificate is for the Service
// and lands where the operator reads it, kept by the operator (its flags
// name the Secret and configuration its RBAC grants) or by cert-manager.
func checkWebhook(t *testing.T, objs []*unstructured.Unstructured, certManager bool) {
	t.Helper()
	config := one(t, objs, "ValidatingWebhookConfiguration")
	dep := deploymentOf(t, objs)
	c := dep.Spec.Template.Spec.Containers[0]
	hooks, _, _ := unstructured.NestedSlice(config.Object, "webhooks")
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks, want 1", len(hooks))
	}
	service, _, _ := unstructured.NestedStringMap(hooks[0].(map[string]any), "clientConfig", "service")
	if service["path"] != admission.Path || service["namespace"] != dep.Namespace {
		t.Errorf("the webhook calls %v, want %s in %s", service, admission.Path, dep.Namespace)
	}
	if policy, _, _ := unstructured.NestedString(hooks[0].(map[string]any), "failurePolicy"); policy != "Ignore" {
		t.Errorf("failurePolicy %q, want Ignore", policy)
	}
	var svc *unstructured.Unstructured
	for _, o := range ofKind(objs, "Service") {
		if o.GetName() == service["name"] {
			svc = o
		}
	}
	if svc == nil {
		t.Fatalf("no Service %s", service["name"])
	}
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	target, _, _ := unstructured.NestedString(ports[0].(map[string]any), "targetPort")
	if port := containerPort(c, target); port == 0 || arg(c.Args, "--webhook-port") != strconv.Itoa(int(port)) {
		t.Errorf("the Service targets port %q, the container has %+v and args %v", target, c.Ports, c.Args)
	}
	certDir := arg(c.Args, "--webhook-cert-dir")
	mounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == certDir })
	if !mounted {
		t.Errorf("--webhook-cert-dir=%s is not a mounted volume: %+v", certDir, c.VolumeMounts)
	}
	host := service["name"] + "." + service["namespace"] + ".svc"
	if certManager {
		cert := one(t, objs, "Certificate")
		dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
		if !slices.Contains(dns, host) || config.GetAnnotations()["cert-manager.io/inject-ca-from"] == "" {
			t.Errorf("Certificate for %v (want %s), caBundle injection %q", dns, host, config.GetAnnotations())
		}
		if arg(c.Args, "--webhook-cert-secret") != "" {
			t.Errorf("with cert-manager the operator must not keep a certificate: %v", c.Args)
		}
		return
	}
	if !slices.Contains(strings.Split(arg(c.Args, "--webhook-cert-hosts"), ","), host) {
		t.Errorf("--webhook-cert-hosts=%s lacks %s", arg(c.Args, "--webhook-cert-hosts"), host)
	}
	if got := arg(c.Args, "--webhook-configuration"); got != config.GetName() {
		t.Errorf("--webhook-configuration=%s, the configuration is %s", got, config.GetName())
	}
	secretNS, secretName, _ := strings.Cut(arg(c.Args, "--webhook-cert-secret"), "/")
	grants := map[string]bool{}
	for _, o := range webhookObjects(objs) {
		if o.GetKind() == "Role" || o.GetKind() == "ClusterRole" {
			for g := range expand(rulesOf(t, o)) {
				grants[o.GetNamespace()+" "+g] = true
			}
		}
	}
	for _, want := range []string{
		secretNS + " create secrets (any)", secretNS + " get secrets " + secretName, secretNS + " update secrets " + secretName,
		" get validatingwebhookconfigurations.admissionregistration.k8s.io " + config.GetName(),
		" patch validatingwebhookconfigurations.admissionregistration.k8s.io " + config.GetName(),
	} {
		if !grants[want] {
			t.Errorf("the webhook RBAC does not grant %q; it grants %v", want, grants)
		}
	}
}
