package localcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	groupsnapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumegroupsnapshot/v1"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapshots "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/sroll-dev/sroll/internal/localcluster/localcsi"
)

// The storage every local cluster has: a default StorageClass whose PVCs
// the local CSI driver provisions and can grow, and default snapshot
// classes of the same driver. All three are named StorageClassName.
const (
	StorageClassName = "sroll-local"
	// CSIDriverName is the driver in the PVs, VolumeSnapshotContents and
	// classes of the local storage.
	CSIDriverName = localcsi.DriverName
)

// snapshotCRDsDir holds the VolumeSnapshot and VolumeGroupSnapshot CRDs in
// the binaries' directory, next to the controllers built with them.
const snapshotCRDsDir = "snapshot-crds"

// startStorage starts the CSI driver with its provisioner and resizer, and
// the kubelet whose pods' processes the driver freezes during snapshots.
func (c *Cluster) startStorage() error {
	var err error
	if c.storageLog, err = os.Create(c.layout.path("logs", "csi-driver.log")); err != nil {
		return err
	}
	if c.storage, err = localcsi.Start(localcsi.Config{
		Root:       c.layout.csiDir(),
		Socket:     c.layout.csiSocket(),
		RestConfig: c.RestConfig(),
		Quiescer:   c.kubelet,
		Log:        c.storageLog,
	}); err != nil {
		return fmt.Errorf("CSI driver: %w", err)
	}
	c.kubelet.volumes = c.storage
	return c.kubelet.startWatches(c.RestConfig())
}

// installSnapshots installs the snapshot CRDs, the classes and the
// CSIDriver, then starts the upstream snapshot-controller and the
// csi-snapshotter sidecar, which need the CRDs served when they start.
func (c *Cluster) installSnapshots(ctx context.Context) error {
	if err := c.installSnapshotCRDs(ctx); err != nil {
		return err
	}
	if err := c.createStorageObjects(ctx); err != nil {
		return err
	}
	kubeconfig := "--kubeconfig=" + c.layout.kubeconfig()
	// Short retries: conflicting writes are common while a snapshot becomes
	// ready, and the default first retry after a second is most of the wait.
	retries := []string{"--retry-interval-start=100ms", "--retry-interval-max=10s"}
	if err := c.run("snapshot-controller", append([]string{kubeconfig, "--leader-election=false",
		"--kube-api-qps=100", "--kube-api-burst=200"}, retries...), nil); err != nil {
		return err
	}
	return c.run("csi-snapshotter", append([]string{kubeconfig, "--leader-election=false",
		"--csi-address=" + c.layout.csiSocket(), "--kube-api-qps=100", "--kube-api-burst=200"}, retries...), nil)
}

func (c *Cluster) installSnapshotCRDs(ctx context.Context) error {
	dir := filepath.Join(c.opts.BinDir, snapshotCRDsDir)
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no snapshot CRDs in %s; run `make k8s-bin`", dir)
	}
	ctx, cancel := c.stepContext(ctx)
	defer cancel()
	if err := InstallCRDs(ctx, c.restConfig, applyOptions.FieldManager, files...); err != nil {
		return c.failedOr(err)
	}
	return nil
}

// createStorageObjects creates the CSIDriver, its registration on every
// node, and the default classes.
func (c *Cluster) createStorageObjects(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(c.restConfig)
	if err != nil {
		return err
	}
	snaps, err := snapshots.NewForConfig(c.restConfig)
	if err != nil {
		return err
	}
	// Nothing is attached or mounted: no VolumeAttachment is waited for.
	if _, err := cs.StorageV1().CSIDrivers().Create(ctx, &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: CSIDriverName},
		Spec: storagev1.CSIDriverSpec{
			AttachRequired:       ptr.To(false),
			PodInfoOnMount:       ptr.To(false),
			VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
		},
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create CSIDriver: %w", err)
	}
	// Each node's kubelet would register the driver on its node.
	for i := range c.opts.Nodes {
		if _, err := cs.StorageV1().CSINodes().Create(ctx, &storagev1.CSINode{
			ObjectMeta: metav1.ObjectMeta{Name: NodeName(i)},
			Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{
				Name: CSIDriverName, NodeID: NodeName(i),
			}}},
		}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create CSINode %s: %w", NodeName(i), err)
		}
	}
	// Immediate binding: there is no topology, every node sees every
	// volume, and a PVC restored from a snapshot is bound before any pod
	// uses it.
	if _, err := cs.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: StorageClassName, Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:          CSIDriverName,
		ReclaimPolicy:        ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode:    ptr.To(storagev1.VolumeBindingImmediate),
		AllowVolumeExpansion: ptr.To(true),
	}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create StorageClass: %w", err)
	}
	// The classes are applied (a patch), not created: the API server holds
	// every create of a custom resource for 2 s after its CRD is
	// established, which would be most of the cluster's start.
	snapshotClass, err := json.Marshal(&snapshotv1.VolumeSnapshotClass{
		TypeMeta:       metav1.TypeMeta{APIVersion: snapshotv1.SchemeGroupVersion.String(), Kind: "VolumeSnapshotClass"},
		ObjectMeta:     metav1.ObjectMeta{Name: StorageClassName, Annotations: map[string]string{"snapshot.storage.kubernetes.io/is-default-class": "true"}},
		Driver:         CSIDriverName,
		DeletionPolicy: snapshotv1.VolumeSnapshotContentDelete,
	})
	if err != nil {
		return err
	}
	if _, err := snaps.SnapshotV1().VolumeSnapshotClasses().Patch(ctx, StorageClassName, types.ApplyPatchType, snapshotClass, applyOptions); err != nil {
		return fmt.Errorf("apply VolumeSnapshotClass: %w", err)
	}
	groupClass, err := json.Marshal(&groupsnapshotv1.VolumeGroupSnapshotClass{
		TypeMeta:       metav1.TypeMeta{APIVersion: groupsnapshotv1.SchemeGroupVersion.String(), Kind: "VolumeGroupSnapshotClass"},
		ObjectMeta:     metav1.ObjectMeta{Name: StorageClassName, Annotations: map[string]string{"groupsnapshot.storage.kubernetes.io/is-default-class": "true"}},
		Driver:         CSIDriverName,
		DeletionPolicy: snapshotv1.VolumeSnapshotContentDelete,
	})
	if err != nil {
		return err
	}
	if _, err := snaps.GroupsnapshotV1().VolumeGroupSnapshotClasses().Patch(ctx, StorageClassName, types.ApplyPatchType, groupClass, applyOptions); err != nil {
		return fmt.Errorf("apply VolumeGroupSnapshotClass: %w", err)
	}
	return nil
}

var applyOptions = metav1.PatchOptions{FieldManager: "localcluster"}

// ClaimDir is the directory holding the data of a bound PVC of the local
// storage: where `kubectl exec` runs in a pod whose first volume it is.
func (c *Cluster) ClaimDir(ctx context.Context, namespace, claim string) (string, error) {
	cs, err := kubernetes.NewForConfig(c.restConfig)
	if err != nil {
		return "", err
	}
	pvc, err := cs.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if pvc.Spec.VolumeName == "" {
		return "", fmt.Errorf("PVC %s/%s is not bound", namespace, claim)
	}
	pv, err := cs.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != CSIDriverName {
		return "", fmt.Errorf("PV %s is not a volume of %s", pv.Name, CSIDriverName)
	}
	return c.storage.VolumeDir(pv.Spec.CSI.VolumeHandle), nil
}
