#!/usr/bin/env bash
# Builds the local control plane from Go modules into $1 (bin/k8s/<version>),
# skipping every binary that is already there: the Kubernetes components from
# hack/k8s, the CSI snapshot controllers from hack/snapshotter, and the
# snapshot CRDs those controllers serve.
set -euo pipefail
mkdir -p "$1"
out=$(cd "$1" && pwd)
hack=$(cd "$(dirname "$0")" && pwd)
build() {
  local name=$1 pkg=$2 ldflags=$3
  if [ -x "$out/$name" ]; then return; fi
  echo "building $name ($pkg)"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$out/$name.tmp" "$pkg"
  mv "$out/$name.tmp" "$out/$name"
}

cd "$hack/k8s"
version=v1.36.3
k8s="-X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36 -X k8s.io/client-go/pkg/version.gitVersion=$version"
build etcd go.etcd.io/etcd/server/v3 "$k8s"
build kwok sigs.k8s.io/kwok/cmd/kwok "$k8s"
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$k8s"
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$k8s"
build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$k8s"
build kubectl k8s.io/kubernetes/cmd/kubectl "$k8s"

cd "$hack/snapshotter"
snapshotter=github.com/kubernetes-csi/external-snapshotter
snapshotter_version=$(go list -m -f '{{.Version}}' "$snapshotter/v8")
build snapshot-controller "$snapshotter/v8/cmd/snapshot-controller" "-X main.version=$snapshotter_version"
build csi-snapshotter "$snapshotter/v8/cmd/csi-snapshotter" "-X main.version=$snapshotter_version"
# The CRDs of the client module the controllers were built with, so the two
# always match.
if [ ! -d "$out/snapshot-crds" ]; then
  echo "copying the snapshot CRDs ($snapshotter/client/v8)"
  crds=$(go mod download -json "$snapshotter/client/v8" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/config/crd
  mkdir -p "$out/snapshot-crds.tmp"
  cp "$crds"/*storage.k8s.io_*.yaml "$out/snapshot-crds.tmp/"
  chmod 644 "$out/snapshot-crds.tmp"/*.yaml
  mv "$out/snapshot-crds.tmp" "$out/snapshot-crds"
fi
