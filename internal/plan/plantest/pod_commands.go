package plantest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podCommands change the pods behind the operator's back, each printing the
// pods after:
//
//	ready all | ready 3,5-7 | notready 2 | break 2 (never Ready again)
//	kill 4 (gone, recreated on sync) | terminate 4 (deleting) | pods
//	unschedulable 3-4 message=(0/3 nodes are available: ...)
//	waiting 5 reason=ImagePullBackOff message=(Back-off pulling image "kv:v9")
//
// unschedulable and waiting break the pods (never Ready again) and say why
// as the API would: PodScheduled=False, or a container waiting.
func podCommands(s *Sim, t *testing.T, d *datadriven.TestData) (string, bool) {
	switch d.Cmd {
	case "ready":
		if len(d.CmdArgs) > 0 && d.CmdArgs[0].Key == "all" {
			s.ReadyAll()
		} else {
			for _, o := range ordinalsArg(t, d) {
				s.setReady(o, true)
			}
		}
	case "break", "notready":
		for _, o := range ordinalsArg(t, d) {
			s.broken[s.pods[o].UID] = d.Cmd == "break"
			s.setReady(o, false)
		}
	case "unschedulable", "waiting":
		message, reason := textArg(d, "message", ""), strArg(d, "reason", "Unschedulable")
		for _, o := range ordinalsArg(t, d) {
			s.broken[s.pods[o].UID] = true
			s.setReady(o, false)
			pod := s.pods[o]
			if d.Cmd == "unschedulable" {
				pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: message}}
			} else {
				pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{
					Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}}}
			}
		}
	case "kill":
		for _, o := range ordinalsArg(t, d) {
			s.Remove(o)
		}
	case "terminate":
		for _, o := range ordinalsArg(t, d) {
			if pod, ok := s.pods[o]; ok {
				now := metav1.NewTime(s.Now)
				pod.DeletionTimestamp = &now
			}
		}
	case "pods":
	default:
		return "", false
	}
	return s.PodsSummary(), true
}
