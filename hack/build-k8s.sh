#!/usr/bin/env bash
# Builds the local control plane from Go modules into $1 (bin/k8s/<version>),
# skipping every binary that is already there. The first run downloads the
# modules and compiles for many minutes; it says what it is doing and, every
# 30 s, that it is still at it, so a silent terminal never looks hung.
set -euo pipefail
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")/k8s"
version=v1.36.3
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36 -X k8s.io/client-go/pkg/version.gitVersion=$version"
binaries=(etcd kwok kube-apiserver kube-controller-manager kube-scheduler kubectl)
declare -A packages=(
  [etcd]=go.etcd.io/etcd/server/v3
  [kwok]=sigs.k8s.io/kwok/cmd/kwok
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
)

missing=()
for name in "${binaries[@]}"; do
  [ -x "$out/$name" ] || missing+=("$name")
done
[ ${#missing[@]} -gt 0 ] || exit 0

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

echo "Building the local control plane (Kubernetes $version) into $out: ${missing[*]}."
echo "With an empty Go module cache this takes 10-20 minutes on 2 cores (downloading, then compiling); later runs skip it."
i=0
for name in "${missing[@]}"; do
  i=$((i + 1))
  echo "[$i/${#missing[@]}] building $name (${packages[$name]}), $(elapsed) so far"
  progress "building $name" env CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/$name.tmp" "${packages[$name]}"
  mv "$out/$name.tmp" "$out/$name"
done
echo "Built the local control plane in $(elapsed)."
