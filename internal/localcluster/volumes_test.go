package localcluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/sroll-dev/sroll/internal/localcluster"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// statefulSetWithClaims is a Parallel StatefulSet whose pods each have a
// 1Gi PVC "data" of the default class, labelled app=name.
func statefulSetWithClaims(name string, replicas int32) *appsv1.StatefulSet {
	sts := statefulSet(name, replicas, "registry.example/db:v1")
	sts.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	claim := e2eutil.Claim("data", "1Gi", "")
	claim.Labels = map[string]string{"app": name}
	sts.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{*claim}
	return sts
}

// podWithClaim is a pod whose first volume is the PVC claim.
func podWithClaim(name, claim string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "registry.example/db:v1",
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
			}}},
		},
	}
}

func execIn(t *testing.T, ns, pod, script string) string {
	t.Helper()
	out, err := clustertest.Kubectl(t, "exec", "-n", ns, pod, "--", "sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStatefulSetClaimsAreProvisionedAndKeepTheirData(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	createStatefulSet(t, cs, ns, statefulSetWithClaims("db", 3))
	waitReadyReplicas(t, cs, ns, "db", 3, time.Minute)
	for i := range 3 {
		claim := e2eutil.WaitClaimBound(t, cs, ns, fmt.Sprintf("data-db-%d", i))
		if claim.Spec.StorageClassName == nil || *claim.Spec.StorageClassName != localcluster.StorageClassName {
			t.Errorf("PVC %s has class %v, want the default %s", claim.Name, claim.Spec.StorageClassName, localcluster.StorageClassName)
		}
		pv, err := cs.CoreV1().PersistentVolumes().Get(t.Context(), claim.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != localcluster.CSIDriverName {
			t.Errorf("PV %s is not a CSI volume of %s: %+v", pv.Name, localcluster.CSIDriverName, pv.Spec.PersistentVolumeSource)
		}
	}

	execIn(t, ns, "db-1", "echo written-in-db-1 > f")
	data, err := os.ReadFile(filepath.Join(clustertest.ClaimDir(t, ns, "data-db-1"), "f"))
	if err != nil || string(data) != "written-in-db-1\n" {
		t.Fatalf("file in the PV directory of data-db-1: %q, %v", data, err)
	}
	deleteAndAwaitReplacement(t, cs, ns, "db-1")
	if out := execIn(t, ns, "db-1", "cat f"); out != "written-in-db-1\n" {
		t.Errorf("after db-1 was recreated its PV holds %q", out)
	}
}

func TestSnapshotsRestoreWhatTheyCaptured(t *testing.T) {
	cs := client(t)
	snaps := e2eutil.SnapshotClient(t, clustertest.RestConfig())
	ns := clustertest.Namespace(t)
	createStatefulSet(t, cs, ns, statefulSetWithClaims("db", 3))
	waitReadyReplicas(t, cs, ns, "db", 3, time.Minute)
	for i := range 3 {
		execIn(t, ns, fmt.Sprintf("db-%d", i), "echo $POD_NAME v1 > f")
	}

	// One PVC, restored into a new PVC mounted by a new pod.
	if _, err := snaps.SnapshotV1().VolumeSnapshots(ns).Create(t.Context(), e2eutil.Snapshot("db-1-v1", "data-db-1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e2eutil.WaitSnapshotReady(t, snaps, ns, "db-1-v1")
	execIn(t, ns, "db-1", "echo db-1 v2 > f")
	createClaim(t, cs, ns, e2eutil.Claim("restored", "1Gi", "db-1-v1"))
	if _, err := cs.CoreV1().Pods(ns).Create(t.Context(), podWithClaim("reader", "restored"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "pod reader Ready", func(ctx context.Context) (bool, error) {
		return podReady(getPod(t, cs, ns, "reader")), nil
	})
	if out := execIn(t, ns, "reader", "cat f"); out != "db-1 v1\n" {
		t.Errorf("PVC restored from the snapshot holds %q, want what db-1 had when it was taken", out)
	}

	// Every PVC of the set at one instant.
	group := e2eutil.GroupSnapshot("db-v1", map[string]string{"app": "db"})
	if _, err := snaps.GroupsnapshotV1().VolumeGroupSnapshots(ns).Create(t.Context(), group, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	members := e2eutil.WaitGroupSnapshotReady(t, snaps, ns, "db-v1", 3)
	var restored []string
	for _, m := range members {
		if !m.Status.CreationTime.Equal(members[0].Status.CreationTime) {
			t.Errorf("member %s taken at %s, member %s at %s: not one instant", m.Name, m.Status.CreationTime, members[0].Name, members[0].Status.CreationTime)
		}
		claim := "from-" + m.Name
		createClaim(t, cs, ns, e2eutil.Claim(claim, "1Gi", m.Name))
		e2eutil.WaitClaimBound(t, cs, ns, claim)
		data, err := os.ReadFile(filepath.Join(clustertest.ClaimDir(t, ns, claim), "f"))
		if err != nil {
			t.Fatalf("PVC restored from member %s: %v", m.Name, err)
		}
		restored = append(restored, string(data))
	}
	slices.Sort(restored)
	if want := []string{"db-0 v1\n", "db-1 v2\n", "db-2 v1\n"}; !slices.Equal(restored, want) {
		t.Errorf("PVCs restored from the group snapshot hold %q, want %q", restored, want)
	}
}

func createClaim(t *testing.T, cs kubernetes.Interface, ns string, claim *corev1.PersistentVolumeClaim) {
	t.Helper()
	if _, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(t.Context(), claim, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create PVC %s: %v", claim.Name, err)
	}
}

func TestClaimResizeShowsInStatusCapacity(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	createClaim(t, cs, ns, e2eutil.Claim("grows", "1Gi", ""))
	claim := e2eutil.WaitClaimBound(t, cs, ns, "grows")
	if got := claim.Status.Capacity[corev1.ResourceStorage]; got.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Fatalf("capacity %s, want 1Gi", got.String())
	}
	patch := []byte(`{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}`)
	if _, err := cs.CoreV1().PersistentVolumeClaims(ns).Patch(t.Context(), "grows", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "capacity 2Gi", func(ctx context.Context) (bool, error) {
		claim, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "grows", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got := claim.Status.Capacity[corev1.ResourceStorage]
		return got.Cmp(resource.MustParse("2Gi")) == 0 && len(claim.Status.Conditions) == 0, nil
	})
	pv, err := cs.CoreV1().PersistentVolumes().Get(t.Context(), claim.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pv.Spec.Capacity[corev1.ResourceStorage]; got.Cmp(resource.MustParse("2Gi")) != 0 {
		t.Errorf("PV capacity %s, want 2Gi", got.String())
	}
}
