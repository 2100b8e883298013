package localcluster

import "path/filepath"

// layout names the files of a cluster's state directory, so every component
// agrees on them and `down` can remove the directory as a whole.
type layout string

func (l layout) path(elem ...string) string {
	return filepath.Join(append([]string{string(l)}, elem...)...)
}

func (l layout) certsDir() string        { return l.path("certs") }
func (l layout) cert(name string) string { return l.path("certs", name+".crt") }
func (l layout) key(name string) string  { return l.path("certs", name+".key") }
func (l layout) etcdDataDir() string     { return l.path("etcd") }
func (l layout) logsDir() string         { return l.path("logs") }
func (l layout) kubeconfig() string      { return l.path("kubeconfig") }
func (l layout) kwokConfig() string      { return l.path("kwok.yaml") }
func (l layout) kwokHome() string        { return l.path("kwok-home") }
func (l layout) volumesDir() string      { return l.path("volumes") }
func (l layout) pidsFile() string        { return l.path("pids.json") }
func (l layout) cgroupFile() string      { return l.path("cgroup") }

// The CSI driver's volumes and snapshots live in volumes/_csi, apart from
// the per-pod directories volumes/<namespace>/<pod> (no namespace starts
// with "_").
func (l layout) csiDir() string    { return l.path("volumes", "_csi") }
func (l layout) csiSocket() string { return l.path("csi.sock") }
