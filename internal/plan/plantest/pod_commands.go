package plantest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podCommands change the pods behind the operator's back, each printing the
// pods after:
//
//	ready all | ready 3,5-7 | notready 2 | break 2 (never Ready again)
//	kill 4 (gone, recreated on sync) | terminate 4 (deleting) | pods
func podCommands(s *Sim, t *testing.T, d *datadriven.TestData) (string, bool) {
	switch d.Cmd {
	case "ready":
		if len(d.CmdArgs) > 0 && d.CmdArgs[0].Key == "all" {
			s.readyAll()
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
	case "kill":
		for _, o := range ordinalsArg(t, d) {
			delete(s.pods, o)
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
