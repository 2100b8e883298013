package localcluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// maxNodes keeps the nodes' pod CIDRs (10.<1..64>.0.0/16) clear of the
	// service range 10.96.0.0/16.
	maxNodes = 64
	// podsPerNode lets 1000-pod StatefulSets fit on the default 3 nodes.
	podsPerNode = "2000"
	// ZoneLabel is set on every node, cycling through Zones.
	ZoneLabel = "topology.kubernetes.io/zone"
)

// Zones are the zones nodes are spread over, in creation order.
var Zones = []string{"zone-a", "zone-b", "zone-c"}

// NodeName returns the name of the i-th simulated node (from 0).
func NodeName(i int) string { return fmt.Sprintf("node-%d", i) }

// newNode describes a node as its kubelet would register it. The kubelet
// endpoint is the exec server, on 127.0.0.1 like every node.
func newNode(i, kubeletPort int) *corev1.Node {
	name := NodeName(i)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("1000"),
		corev1.ResourceMemory:           resource.MustParse("1Ti"),
		corev1.ResourceEphemeralStorage: resource.MustParse("1Ti"),
		corev1.ResourcePods:             resource.MustParse(podsPerNode),
	}
	podCIDR := fmt.Sprintf("10.%d.0.0/16", i+1)
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				ZoneLabel:                zoneOf(i),
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
			},
			Annotations: map[string]string{kwokNodeAnnotation: kwokNodeValue},
		},
		Spec: corev1.NodeSpec{PodCIDR: podCIDR, PodCIDRs: []string{podCIDR}},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
				{Type: corev1.NodeHostName, Address: name},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(kubeletPort)}},
			NodeInfo: corev1.NodeSystemInfo{
				KubeletVersion:          K8sVersion,
				ContainerRuntimeVersion: "kwok://simulated",
				OperatingSystem:         "linux",
				Architecture:            "amd64",
			},
		},
	}
}

// nodeNames are the names of the first n simulated nodes.
func nodeNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = NodeName(i)
	}
	return names
}

func zoneOf(i int) string { return Zones[i%len(Zones)] }

func createNodes(ctx context.Context, cs kubernetes.Interface, n, kubeletPort int) error {
	for i := range n {
		if _, err := cs.CoreV1().Nodes().Create(ctx, newNode(i, kubeletPort), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", NodeName(i), err)
		}
	}
	return nil
}

// nodeSchedulable reports whether kwok has made the node Ready and the
// node-lifecycle controller has lifted the not-ready taint the API server
// puts on every new node.
func nodeSchedulable(node *corev1.Node) bool {
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = c.Status == corev1.ConditionTrue
		}
	}
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return false
		}
	}
	return ready
}
