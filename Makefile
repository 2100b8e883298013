# sroll: `make demo` runs it on a fresh machine, `make test` passes the tests.
SHELL := /usr/bin/env bash

K8S_VERSION      ?= v1.36.3
K8S_BIN          ?= $(CURDIR)/bin/k8s/$(K8S_VERSION)
TOOLS_BIN        := $(CURDIR)/bin/tools
CONTROLLER_TOOLS ?= v0.22.0
CONTROLLER_GEN   := $(TOOLS_BIN)/controller-gen-$(CONTROLLER_TOOLS)
KUBECONFIG_LOCAL := $(CURDIR)/.localcluster/kubeconfig

export SROLL_K8S_BIN := $(K8S_BIN)
export PATH := $(CURDIR)/bin:$(K8S_BIN):$(PATH)

.PHONY: all build test bench generate verify-generated verify-tidy k8s-bin cluster-up cluster-down run demo deploy undeploy

all: build

## k8s-bin: build the local control plane and the CSI snapshot controllers
## (10-20 minutes the first time, with progress; each binary there is skipped).
k8s-bin:
	@hack/build-k8s.sh $(K8S_BIN)

$(CONTROLLER_GEN):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS)
	mv $(TOOLS_BIN)/controller-gen $@

# Rendering tools, pinned in hack/tools/go.mod (a module of their own, so their
# dependencies never reach the operator's go.mod). Rebuilt when go.mod changes.
TOOLS_MOD := hack/tools/go.mod hack/tools/go.sum
HELM      := $(TOOLS_BIN)/helm
KUSTOMIZE := $(TOOLS_BIN)/kustomize

.PHONY: tools
## tools: build helm and kustomize into bin/tools.
tools: $(HELM) $(KUSTOMIZE)

$(HELM): $(TOOLS_MOD)
	@mkdir -p $(TOOLS_BIN)
	cd hack/tools && CGO_ENABLED=0 go build -trimpath -o $@ \
		-ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$$(go list -m -f '{{.Version}}' helm.sh/helm/v3)" \
		helm.sh/helm/v3/cmd/helm

$(KUSTOMIZE): $(TOOLS_MOD)
	@mkdir -p $(TOOLS_BIN)
	cd hack/tools && CGO_ENABLED=0 go build -trimpath -o $@ -ldflags "-s -w" sigs.k8s.io/kustomize/kustomize/v5

## generate: regenerate deepcopy, CRDs and RBAC from the code markers.
generate: $(CONTROLLER_GEN)
	$(CONTROLLER_GEN) object paths=./api/...
	$(CONTROLLER_GEN) crd:maxDescLen=0,generateEmbeddedObjectMeta=true rbac:roleName=sroll-operator paths=./... \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	go run ./hack/crdpatch config/crd/bases/sroll.dev_statefulsetrollouts.yaml
	@$(MAKE) --no-print-directory chart-crds

## verify-generated: fail when generated files are stale.
verify-generated: generate
	@git diff --exit-code -- api config charts || { echo "generated files are stale: run make generate and commit"; exit 1; }

# The operator's module and the two build-tool modules of hack/.
GO_MODULES := . hack/tools hack/k8s

## verify-tidy: fail when a go.mod or go.sum is not what `go mod tidy` writes.
verify-tidy:
	@for mod in $(GO_MODULES); do \
		(cd $$mod && go mod tidy -diff) || { echo "$$mod/go.mod is not tidy: run go mod tidy in $$mod and commit"; exit 1; }; \
	done

.PHONY: chart-crds
## chart-crds: copy the generated CRDs and the operator's RBAC rules into the Helm chart.
chart-crds:
	@rm -f charts/sroll/crds/*.yaml
	cp config/crd/bases/*.yaml charts/sroll/crds/
	cp config/rbac/role.yaml charts/sroll/files/operator-role.yaml

build:
	go build -o bin/ ./cmd/...

.PHONY: postgres
## postgres: PostgreSQL from Debian, which the PostgreSQL example's end-to-end
## test runs in the local cluster's pods (apt-get, when initdb is missing).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; }

.PHONY: chromium
## chromium: Chromium from Debian, the headless browser the dashboard's
## end-to-end test drives (apt-get, when it is missing).
chromium:
	@command -v chromium >/dev/null || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

## test: everything, including end-to-end tests on the local cluster.
test: k8s-bin postgres chromium verify-generated verify-tidy $(HELM) $(KUSTOMIZE)
	go vet ./...
	go test -p 1 -timeout 60m ./...

## bench: the performance figures in the README, measured on a fresh local
## cluster with a pod ready delay of 2 s; ends with a markdown table.
## BENCH=quick runs the same benchmarks with smaller sizes.
bench: k8s-bin build
	SROLL_POD_READY_DELAY=2s go test -run '^$$' -bench . -benchtime 1x -timeout 60m ./test/bench/...

cluster-up: k8s-bin
	go run ./cmd/localcluster up

cluster-down:
	@hack/demo.sh stop
	go run ./cmd/localcluster down

## demo: a local cluster, the operator, and a 40-pod rollout shown live.
demo: k8s-bin build
	@hack/demo.sh

.PHONY: install uninstall

## install: install the CRDs into the cluster of $KUBECONFIG.
install:
	kubectl apply --server-side -f config/crd/bases

## uninstall: remove the CRDs (and every rollout) from the cluster of $KUBECONFIG.
uninstall:
	kubectl delete --ignore-not-found -f config/crd/bases

## run: run the operator on this machine against the cluster of $KUBECONFIG.
run: install
	go run ./cmd/sroll-operator --leader-elect=false

# The operator image `make deploy` installs.
IMG ?= ghcr.io/sroll-dev/sroll:latest

## deploy: install CRDs, RBAC and the operator Deployment (config/default, image
## $(IMG)) into the cluster of $KUBECONFIG. Server-side apply: the CRD is too
## large for the last-applied annotation of a client-side apply.
## On the local cluster (make cluster-up) the Deployment's pod is simulated by
## kwok: there is no container runtime, so the image never runs there; use
## `make run` for a working operator on the local cluster.
deploy: $(KUSTOMIZE)
	@mkdir -p bin && overlay=$$(mktemp -d "$(CURDIR)/bin/deploy.XXXXXX") && trap 'rm -rf "$$overlay"' EXIT && \
	printf 'resources:\n- ../../config/default\n' > "$$overlay/kustomization.yaml" && \
	(cd "$$overlay" && $(KUSTOMIZE) edit set image ghcr.io/sroll-dev/sroll=$(IMG)) && \
	$(KUSTOMIZE) build "$$overlay" | kubectl apply --server-side --field-manager=sroll-deploy -f -

## undeploy: delete what deploy installed, CRDs included: every
## StatefulSetRollout goes, and with it (owner references) its StatefulSet and pods.
undeploy: $(KUSTOMIZE)
	$(KUSTOMIZE) build config/default | kubectl delete --ignore-not-found -f -
