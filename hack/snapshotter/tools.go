//go:build tools

// Package snapshotter pins the upstream CSI snapshot controllers the local
// cluster runs. It is a module of its own, apart from hack/k8s, because
// external-snapshotter v8.7.0 is built against the k8s.io v0.37 libraries
// while k8s.io/kubernetes v1.36.3 pins them at v0.36.3.
package snapshotter

import (
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter"
	_ "github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller"
)
