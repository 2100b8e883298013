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

.PHONY: all build test bench generate verify-generated k8s-bin cluster-up cluster-down run demo deploy undeploy

all: build

## k8s-bin: build the local control plane (about 6 minutes the first time).
k8s-bin:
	@hack/build-k8s.sh $(K8S_BIN)

$(CONTROLLER_GEN):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS)
	mv $(TOOLS_BIN)/controller-gen $@

## generate: regenerate deepcopy, CRDs and RBAC from the code markers.
generate: $(CONTROLLER_GEN)
	$(CONTROLLER_GEN) object paths=./api/...
	$(CONTROLLER_GEN) crd:maxDescLen=0,generateEmbeddedObjectMeta=true rbac:roleName=sroll-operator paths=./... \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

## verify-generated: fail when generated files are stale.
verify-generated: generate
	@git diff --exit-code -- api config || { echo "generated files are stale: run make generate and commit"; exit 1; }

build:
	go build -o bin/ ./cmd/...

## test: everything, including end-to-end tests on the local cluster.
test: k8s-bin verify-generated
	go vet ./...
	go test -p 1 -timeout 60m ./...

## bench: the performance figures in the README.
bench: k8s-bin build
	go test -run '^$$' -bench . -benchtime 1x -timeout 60m ./test/bench/...

cluster-up: k8s-bin
	go run ./cmd/localcluster up

cluster-down:
	go run ./cmd/localcluster down

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
