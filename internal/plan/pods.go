package plan

import (
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podView is what the planner needs to know of one pod.
type podView struct {
	ref         PodRef
	ordinal     int32
	revision    string
	terminating bool
	// readySince is when the pod last became Ready; zero when it is not.
	readySince time.Time
}

// observedPods indexes the StatefulSet's own pods by ordinal. Pods another
// controller owns, or whose ordinal can't be read, are left out: the planner
// never acts on a pod it is not sure about.
func observedPods(sts *appsv1.StatefulSet, pods []corev1.Pod) map[int32]podView {
	byOrdinal := make(map[int32]podView, len(pods))
	for i := range pods {
		pod := &pods[i]
		if !metav1.IsControlledBy(pod, sts) {
			continue
		}
		ordinal, ok := podOrdinal(sts.Name, pod.Name)
		if !ok {
			continue
		}
		byOrdinal[ordinal] = podView{
			ref:         PodRef{Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion},
			ordinal:     ordinal,
			revision:    pod.Labels[appsv1.ControllerRevisionHashLabelKey],
			terminating: pod.DeletionTimestamp != nil,
			readySince:  readySince(pod),
		}
	}
	return byOrdinal
}

func podOrdinal(setName, podName string) (int32, bool) {
	suffix, found := strings.CutPrefix(podName, setName+"-")
	if !found {
		return 0, false
	}
	n, err := strconv.ParseInt(suffix, 10, 32)
	if err != nil || n < 0 {
		return 0, false
	}
	return int32(n), true
}

func readySince(pod *corev1.Pod) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			if c.LastTransitionTime.IsZero() {
				// Ready without a time: treat as ready since the epoch so
				// minReadySeconds is already met.
				return time.Unix(0, 0)
			}
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// available is the StatefulSet meaning: Ready for at least minReady.
func (p podView) available(now time.Time, minReady time.Duration) bool {
	return !p.terminating && !p.readySince.IsZero() && !now.Before(p.readySince.Add(minReady))
}

// ready is Ready right now, whatever minReadySeconds says.
func (p podView) ready() bool { return !p.terminating && !p.readySince.IsZero() }
