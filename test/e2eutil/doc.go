// Package e2eutil is what sroll's tests against a local cluster share:
// installing the CRDs, building and running the operator (as its own
// process, or its reconciler in-process), watching a StatefulSet's pods,
// waiting for rollouts, and building them.
//
// It knows nothing of how the cluster was started: every function takes
// the cluster's *rest.Config (or kubeconfig), so the test packages of
// clustertest and the benchmarks, which start their own, use it alike.
package e2eutil
