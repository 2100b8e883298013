#!/usr/bin/env bash
# The demo: a local cluster, the operator in the background, and a 40-pod
# rollout through 10%, a pause, 50% and 100%, shown live. Unattended: it
# promotes by itself and exits 0 once the rollout is Completed.
#   hack/demo.sh            run the demo
#   hack/demo.sh stop       stop the demo's operator (make cluster-down does)
set -euo pipefail
cd "$(dirname "$0")/.."

state=.localcluster
pidfile=$state/operator.pid
export KUBECONFIG=$PWD/$state/kubeconfig

stop_operator() {
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    # Only a process that is still our operator binary gets the signal.
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "bin/sroll-operator"; then
      kill "$pid" && while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    fi
    rm -f "$pidfile"
  fi
}

if [ "${1:-}" = stop ]; then
  stop_operator
  exit 0
fi

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Starting the local cluster"
go run ./cmd/localcluster up

say "Installing the StatefulSetRollout CRD"
kubectl apply --server-side --force-conflicts -f config/crd/bases >/dev/null
# kubectl wait fails outright if it looks before the first condition is written,
# and the jsonpath filter then prints the whole CRD: hence the quiet poll.
until [ "$(kubectl get crd statefulsetrollouts.sroll.dev -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" = True ]; do
  sleep 0.5
done

say "Running the operator in the background (log: $state/logs/operator.log)"
stop_operator
mkdir -p "$state/logs"
nohup bin/sroll-operator --leader-elect=false --metrics-bind-address=127.0.0.1:18080 \
  --health-probe-bind-address=127.0.0.1:18081 --cluster-name=local >"$state/logs/operator.log" 2>&1 &
echo $! >"$pidfile"

say "Creating examples/demo.yaml: 40 pods, steps 10% / pause / 50% / 100%"
kubectl delete sroll demo --ignore-not-found --wait=true >/dev/null
kubectl apply -f examples/demo.yaml
kubectl sroll status demo -w --timeout 3m --no-color >/dev/null
kubectl sroll list

say "Changing the image: kubectl sroll set image demo kv=registry.example/kv:2.0"
kubectl sroll set image demo kv=registry.example/kv:2.0
kubectl sroll status demo -w --until-paused --timeout 3m

say "Paused at the pause step. Promoting: kubectl sroll promote demo"
kubectl sroll promote demo
kubectl sroll status demo -w --timeout 5m

cat <<MSG

$(printf '\033[1m')sroll rolled 40 pods to kv:2.0.$(printf '\033[0m')

The cluster and the operator keep running. Try:
  export KUBECONFIG=$KUBECONFIG PATH=$PWD/bin:$PWD/bin/k8s/v1.36.3:\$PATH
  kubectl sroll list
  kubectl sroll set image demo kv=registry.example/kv:broken-1   # never Ready: rolls back by itself
  kubectl sroll status demo -w
  kubectl sroll history demo
  kubectl sroll undo demo
  kubectl get sroll,sts,pods

Stop everything with: make cluster-down
MSG
