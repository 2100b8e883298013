package replication

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// Container is the container the hooks run in: spec.replication.container,
// else the template's first.
func Container(spec v1alpha1.ReplicationSpec, template corev1.PodSpec) string {
	if spec.Container != "" || len(template.Containers) == 0 {
		return spec.Container
	}
	return template.Containers[0].Name
}

// MemberOf is a pod of the StatefulSet set as the decider observes it. Its
// incarnation is the pod's UID and the hook container's restart count: a
// container that restarted runs the application no more, like a new pod.
func MemberOf(set string, pod *corev1.Pod, container string) (Member, bool) {
	ordinal, err := strconv.ParseInt(strings.TrimPrefix(pod.Name, set+"-"), 10, 32)
	if err != nil || !strings.HasPrefix(pod.Name, set+"-") {
		return Member{}, false
	}
	m := Member{Name: pod.Name, Ordinal: int32(ordinal), Incarnation: string(pod.UID), Node: pod.Spec.NodeName}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == container {
			m.Incarnation = fmt.Sprintf("%s/%d", pod.UID, cs.RestartCount)
			m.Running = cs.State.Running != nil && pod.DeletionTimestamp == nil && pod.Status.Phase == corev1.PodRunning
		}
	}
	return m, true
}

// Gate is what the rollout planner reads of the replication record: a pod
// counts as available only while its member runs in its role, and may be
// deleted only once its member is stopped. Both are read from the status
// the decider last wrote, for the pod's current incarnation.
type Gate struct {
	members map[string]v1alpha1.ReplicationMember
	// incarnation of each pod, as MemberOf reads it.
	incarnation map[string]string
}

// NewGate is the gate of a rollout with spec.replication; nil without it.
func NewGate(rollout *v1alpha1.StatefulSetRollout, pods []*corev1.Pod) *Gate {
	spec := rollout.Spec.Replication
	if spec == nil {
		return nil
	}
	g := &Gate{members: map[string]v1alpha1.ReplicationMember{}, incarnation: map[string]string{}}
	if st := rollout.Status.Replication; st != nil {
		for _, m := range st.Members {
			g.members[m.Name] = m
		}
	}
	container := Container(*spec, rollout.Spec.Template.Spec)
	for _, pod := range pods {
		if m, ok := MemberOf(rollout.Name, pod, container); ok {
			g.incarnation[m.Name] = m.Incarnation
		}
	}
	return g
}

func (g *Gate) member(pod string) (v1alpha1.ReplicationMember, bool) {
	m, ok := g.members[pod]
	return m, ok && m.Incarnation == g.incarnation[pod]
}

// Available reports whether pod's member is joined and passing its status hook.
func (g *Gate) Available(pod string) bool {
	m, ok := g.member(pod)
	return ok && m.State == v1alpha1.MemberRunning
}

// Stopped reports whether pod's application is down, so deleting the pod loses nothing.
func (g *Gate) Stopped(pod string) bool {
	m, ok := g.member(pod)
	return !ok || (!m.Joined && m.State == v1alpha1.MemberStopped)
}
