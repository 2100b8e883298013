package localcluster

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// Rate limits. The components get far more than their defaults (20-100
// QPS) so that a thousand-pod StatefulSet is created, scheduled and
// started in seconds; clients get half as much.
const (
	componentQPS   = 1000
	componentBurst = 2000
	// ClientQPS and ClientBurst are set on every rest.Config this package returns.
	ClientQPS   = 500
	ClientBurst = 1000
)

// controllers are the kube-controller-manager controllers the operator and
// its tests rely on; the rest stay off to save CPU.
var controllers = []string{
	"statefulset-controller",
	"deployment-controller",
	"replicaset-controller",
	"disruption-controller",
	"garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"node-lifecycle-controller",
	// Evicts pods from a node tainted NoExecute, which the out-of-service
	// taint of a non-graceful node shutdown is; the pod garbage collector
	// then force-deletes them there.
	"taint-eviction-controller",
	"pod-garbage-collector-controller",
	// Storage: PVC-PV binding, and the finalizers that keep a PVC or PV in
	// use from going. Idle without PVCs.
	"persistentvolume-binder-controller",
	"persistentvolumeclaim-protection-controller",
	"persistentvolume-protection-controller",
}

// ports are the free loopback ports a cluster listens on.
type ports struct {
	etcdClient, etcdPeer, apiServer int
}

func etcdArgs(l layout, p ports) []string {
	client := fmt.Sprintf("http://127.0.0.1:%d", p.etcdClient)
	peer := fmt.Sprintf("http://127.0.0.1:%d", p.etcdPeer)
	return []string{
		"--name=localcluster",
		"--data-dir=" + l.etcdDataDir(),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=localcluster=" + peer,
		// The data dies with the cluster; skipping fsync makes writes cheap.
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	}
}

func apiServerArgs(l layout, p ports, gates map[string]bool) []string {
	return append([]string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", p.etcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", p.apiServer),
		"--cert-dir=" + l.certsDir(),
		"--tls-cert-file=" + l.cert(certAPIServer),
		"--tls-private-key-file=" + l.key(certAPIServer),
		"--client-ca-file=" + l.cert(certCA),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + l.path("certs", keyServiceAccount+".pub"),
		"--service-account-signing-key-file=" + l.key(keyServiceAccount),
		"--service-cluster-ip-range=" + serviceCIDR,
		"--kubelet-client-certificate=" + l.cert(certKubeletClient),
		"--kubelet-client-key=" + l.key(certKubeletClient),
		"--kubelet-preferred-address-types=InternalIP",
		"--allow-privileged=true",
		// Every client is system:masters, which priority and fairness exempts
		// anyway; the loopback endpoint the reconciler would publish for the
		// kubernetes service is invalid in an Endpoints object.
		"--enable-priority-and-fairness=false",
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}, featureGatesArgs(gates)...)
}

func controllerManagerArgs(l layout, gates map[string]bool, nodeGrace time.Duration) []string {
	var nodeMonitor []string
	if nodeGrace > 0 {
		nodeMonitor = []string{"--node-monitor-grace-period=" + nodeGrace.String(), "--node-monitor-period=1s"}
	}
	return append(append([]string{
		"--kubeconfig=" + l.kubeconfig(),
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=" + strings.Join(controllers, ","),
		fmt.Sprintf("--kube-api-qps=%d", componentQPS),
		fmt.Sprintf("--kube-api-burst=%d", componentBurst),
		"--concurrent-statefulset-syncs=10",
		"--service-account-private-key-file=" + l.key(keyServiceAccount),
		"--root-ca-file=" + l.cert(certCA),
		"--profiling=false",
	}, nodeMonitor...), featureGatesArgs(gates)...)
}

// featureGatesArgs is the --feature-gates flag for gates, sorted by name;
// none without gates.
func featureGatesArgs(gates map[string]bool) []string {
	if len(gates) == 0 {
		return nil
	}
	var pairs []string
	for _, name := range slices.Sorted(maps.Keys(gates)) {
		pairs = append(pairs, fmt.Sprintf("%s=%t", name, gates[name]))
	}
	return []string{"--feature-gates=" + strings.Join(pairs, ",")}
}

// schedulerArgs writes the scheduler's configuration file, where its client
// rate limits live (the equivalent flags are deprecated).
func schedulerArgs(l layout) ([]string, error) {
	config := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: %d
  burst: %d
leaderElection:
  leaderElect: false
enableProfiling: false
`, l.kubeconfig(), componentQPS, componentBurst)
	path := l.path("kube-scheduler.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		return nil, err
	}
	return []string{"--config=" + path, "--secure-port=0"}, nil
}

func kwokArgs(l layout) []string {
	return []string{"--kubeconfig=" + l.kubeconfig(), "--config=" + l.kwokConfig()}
}

// kwokEnv keeps kwok from also loading the user's ~/.kwok/kwok.yaml.
func kwokEnv(l layout) []string {
	return []string{"HOME=" + l.kwokHome()}
}
