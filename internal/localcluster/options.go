package localcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

const (
	// K8sVersion is the Kubernetes version `make k8s-bin` builds.
	K8sVersion = "v1.36.3"

	// EnvBinDir names the directory holding the control-plane binaries.
	EnvBinDir = "SROLL_K8S_BIN"
	// EnvPodReadyDelay overrides the default time a started pod needs to become Ready.
	EnvPodReadyDelay = "SROLL_POD_READY_DELAY"

	defaultNodes         = 3
	defaultPodReadyDelay = time.Second
)

// Options configure a local cluster. Zero fields take their defaults.
type Options struct {
	// StateDir holds certificates, etcd data, the kubeconfig, logs and the
	// simulated volumes. Required.
	StateDir string
	// BinDir holds the binaries built by `make k8s-bin`.
	// Default: $SROLL_K8S_BIN, else bin/k8s/<version> under the repository root.
	BinDir string
	// Nodes is the number of simulated nodes. Default 3.
	Nodes int
	// PodReadyDelay is how long a running pod takes to become Ready; each pod
	// draws its delay uniformly from [0.8, 1.2] times this value.
	// Default: $SROLL_POD_READY_DELAY, else 1s.
	PodReadyDelay time.Duration
	// FeatureGates are turned on or off on kube-apiserver and
	// kube-controller-manager, on top of the release's defaults: say,
	// {"MaxUnavailableStatefulSet": true}, without which the API server
	// drops a StatefulSet's rollingUpdate.maxUnavailable.
	FeatureGates map[string]bool
	// NodeMonitorGracePeriod is how long a node may miss its heartbeat
	// before the node-lifecycle controller makes it NotReady (see
	// StopHeartbeat); kwok then renews each lease four times within it.
	// Default: kube-controller-manager's own (50s), with 40s leases.
	NodeMonitorGracePeriod time.Duration
}

// withDefaults returns a copy of o with every zero field filled in.
func (o Options) withDefaults() (Options, error) {
	if o.StateDir == "" {
		return o, errors.New("Options.StateDir is required")
	}
	dir, err := filepath.Abs(o.StateDir)
	if err != nil {
		return o, err
	}
	o.StateDir = dir
	if o.BinDir == "" {
		if o.BinDir, err = DefaultBinDir(); err != nil {
			return o, err
		}
	}
	if o.Nodes == 0 {
		o.Nodes = defaultNodes
	}
	if o.Nodes < 1 || o.Nodes > maxNodes {
		return o, fmt.Errorf("Nodes must be between 1 and %d, got %d", maxNodes, o.Nodes)
	}
	if o.PodReadyDelay == 0 {
		if o.PodReadyDelay, err = podReadyDelayFromEnv(); err != nil {
			return o, err
		}
	}
	if o.PodReadyDelay < 0 {
		return o, fmt.Errorf("PodReadyDelay must not be negative, got %s", o.PodReadyDelay)
	}
	return o, nil
}

func podReadyDelayFromEnv() (time.Duration, error) {
	v := os.Getenv(EnvPodReadyDelay)
	if v == "" {
		return defaultPodReadyDelay, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", EnvPodReadyDelay, v, err)
	}
	return d, nil
}

// DefaultBinDir returns $SROLL_K8S_BIN, else bin/k8s/<version> under the
// repository root found by walking up from the working directory to go.mod.
func DefaultBinDir() (string, error) {
	if dir := os.Getenv(EnvBinDir); dir != "" {
		return filepath.Abs(dir)
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "bin", "k8s", K8sVersion), nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory; set %s", EnvBinDir)
		}
		dir = parent
	}
}

// binaries lists what `make k8s-bin` builds and a cluster needs.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl",
	"snapshot-controller", "csi-snapshotter", snapshotCRDsDir}

// CheckBinaries reports every missing binary in binDir, with the fix.
func CheckBinaries(binDir string) error {
	var missing []string
	for _, name := range binaries {
		if _, err := os.Stat(filepath.Join(binDir, name)); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("local cluster binaries missing in %s: %v; run `make k8s-bin` first", binDir, missing)
}
