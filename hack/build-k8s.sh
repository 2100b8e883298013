#!/usr/bin/env bash
# Builds the local control plane from Go modules into $1 (bin/k8s/<version>),
# skipping every binary that is already there: the Kubernetes components from
# hack/k8s, the CSI snapshot controllers from hack/snapshotter, and the
# snapshot CRDs those controllers serve. The first run downloads the
# modules and compiles for many minutes; it says what it is doing and, every
# 30 s, that it is still at it, so a silent terminal never looks hung.
set -euo pipefail
mkdir -p "$1"
out=$(cd "$1" && pwd)
hack=$(cd "$(dirname "$0")" && pwd)
version=v1.36.3
snapshotter=github.com/kubernetes-csi/external-snapshotter
binaries=(etcd kwok kube-apiserver kube-controller-manager kube-scheduler kubectl snapshot-controller csi-snapshotter)
declare -A packages=(
  [etcd]=go.etcd.io/etcd/server/v3
  [kwok]=sigs.k8s.io/kwok/cmd/kwok
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [snapshot-controller]=$snapshotter/v8/cmd/snapshot-controller
  [csi-snapshotter]=$snapshotter/v8/cmd/csi-snapshotter
)
# The module under hack/ each binary is built in; hack/k8s when not named.
declare -A modules=([snapshot-controller]=snapshotter [csi-snapshotter]=snapshotter)

missing=()
for name in "${binaries[@]}"; do
  [ -x "$out/$name" ] || missing+=("$name")
done
[ ${#missing[@]} -gt 0 ] || [ ! -d "$out/snapshot-crds" ] || exit 0

started=$SECONDS
elapsed() { local s=$((SECONDS - started)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# progress runs a command, printing "still <what>" every 30 s until it ends.
progress() {
  local what=$1 status=0 heartbeat
  shift
  (while sleep 30; do echo "  ... still $what ($(elapsed) so far)"; done) &
  heartbeat=$!
  "$@" || status=$?
  kill "$heartbeat" 2>/dev/null
  wait "$heartbeat" 2>/dev/null || true
  return $status
}

# ldflags stamps each binary with the version of what it was built from.
ldflags() {
  case ${modules[$1]:-k8s} in
  k8s) echo "-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36 -X k8s.io/client-go/pkg/version.gitVersion=$version" ;;
  snapshotter) echo "-s -w -X main.version=$(go list -m -f '{{.Version}}' "$snapshotter/v8")" ;;
  esac
}

echo "Building the local control plane (Kubernetes $version) into $out: ${missing[*]}."
echo "With an empty Go module cache this takes 10-20 minutes on 2 cores (downloading, then compiling); later runs skip it."
i=0
for name in "${missing[@]}"; do
  i=$((i + 1))
  echo "[$i/${#missing[@]}] building $name (${packages[$name]}), $(elapsed) so far"
  (cd "$hack/${modules[$name]:-k8s}" &&
    progress "building $name" env CGO_ENABLED=0 go build -trimpath -ldflags "$(ldflags "$name")" -o "$out/$name.tmp" "${packages[$name]}")
  mv "$out/$name.tmp" "$out/$name"
done
# The CRDs of the client module the controllers were built with, so the two
# always match.
if [ ! -d "$out/snapshot-crds" ]; then
  echo "copying the snapshot CRDs ($snapshotter/client/v8)"
  crds=$(cd "$hack/snapshotter" && go mod download -json "$snapshotter/client/v8" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/config/crd
  mkdir -p "$out/snapshot-crds.tmp"
  cp "$crds"/*storage.k8s.io_*.yaml "$out/snapshot-crds.tmp/"
  chmod 644 "$out/snapshot-crds.tmp"/*.yaml
  mv "$out/snapshot-crds.tmp" "$out/snapshot-crds"
fi
echo "Built the local control plane in $(elapsed)."
