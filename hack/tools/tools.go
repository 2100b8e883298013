//go:build tools

// Package tools pins the rendering tools (helm, kustomize) that the Makefile
// builds into bin/tools. They live in this separate module so their
// dependency graphs never touch the operator's go.mod.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
	_ "sigs.k8s.io/kustomize/kustomize/v5"
)
