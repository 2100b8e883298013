package localcsi

import (
	"context"
	"fmt"

	"github.com/container-storage-interface/spec/lib/go/csi"
	snapshotv1 "github.com/kubernetes-csi/external-snapshotter/client/v8/apis/volumesnapshot/v1"
	snapshots "github.com/kubernetes-csi/external-snapshotter/client/v8/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

// provisioner creates and deletes volumes for PVCs of the driver's storage
// classes through the driver's CSI Controller service, as the upstream
// external-provisioner sidecar does: sig-storage-lib-external-provisioner
// does the Kubernetes side (claims, PVs, events, retries).
type provisioner struct {
	csi       csi.ControllerClient
	client    kubernetes.Interface
	snapshots snapshots.Interface
}

var _ controller.Provisioner = (*provisioner)(nil)

// Provision creates the volume and returns its PV; the library adds the
// claim reference, the class and the provisioned-by annotation.
func (p *provisioner) Provision(ctx context.Context, opts controller.ProvisionOptions) (*corev1.PersistentVolume, controller.ProvisioningState, error) {
	claim := opts.PVC
	requested := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	req := &csi.CreateVolumeRequest{
		Name:               opts.PVName,
		CapacityRange:      &csi.CapacityRange{RequiredBytes: requested.Value()},
		VolumeCapabilities: capabilities(claim),
		Parameters:         opts.StorageClass.Parameters,
	}
	source, err := p.contentSource(ctx, claim)
	if err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	req.VolumeContentSource = source
	resp, err := p.csi.CreateVolume(ctx, req)
	if err != nil {
		return nil, controller.ProvisioningInBackground, fmt.Errorf("CreateVolume %s: %w", opts.PVName, err)
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if opts.StorageClass.ReclaimPolicy != nil {
		reclaim = *opts.StorageClass.ReclaimPolicy
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: opts.PVName},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: *resource.NewQuantity(resp.GetVolume().GetCapacityBytes(), resource.BinarySI)},
			AccessModes:                   claim.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: reclaim,
			VolumeMode:                    claim.Spec.VolumeMode,
			MountOptions:                  opts.StorageClass.MountOptions,
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
				Driver:           DriverName,
				VolumeHandle:     resp.GetVolume().GetVolumeId(),
				VolumeAttributes: resp.GetVolume().GetVolumeContext(),
			}},
		},
	}
	return pv, controller.ProvisioningFinished, nil
}

// Delete deletes the volume of a PV the driver provisioned.
func (p *provisioner) Delete(ctx context.Context, pv *corev1.PersistentVolume) error {
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != DriverName {
		return &controller.IgnoredError{Reason: "not a volume of " + DriverName}
	}
	if _, err := p.csi.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: pv.Spec.CSI.VolumeHandle}); err != nil {
		return fmt.Errorf("DeleteVolume %s: %w", pv.Spec.CSI.VolumeHandle, err)
	}
	return nil
}

// capabilities maps the claim's access modes to CSI; every mode is served
// since nothing is mounted.
func capabilities(claim *corev1.PersistentVolumeClaim) []*csi.VolumeCapability {
	modes := map[corev1.PersistentVolumeAccessMode]csi.VolumeCapability_AccessMode_Mode{
		corev1.ReadWriteOnce:    csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER,
		corev1.ReadOnlyMany:     csi.VolumeCapability_AccessMode_MULTI_NODE_READER_ONLY,
		corev1.ReadWriteMany:    csi.VolumeCapability_AccessMode_MULTI_NODE_MULTI_WRITER,
		corev1.ReadWriteOncePod: csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER,
	}
	var out []*csi.VolumeCapability
	for _, m := range claim.Spec.AccessModes {
		c := &csi.VolumeCapability{AccessMode: &csi.VolumeCapability_AccessMode{Mode: modes[m]}}
		if claim.Spec.VolumeMode != nil && *claim.Spec.VolumeMode == corev1.PersistentVolumeBlock {
			c.AccessType = &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}}
		} else {
			c.AccessType = &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}}
		}
		out = append(out, c)
	}
	return out
}

// contentSource resolves the claim's data source, a VolumeSnapshot or a PVC
// in its namespace, to the driver's snapshot or volume id.
func (p *provisioner) contentSource(ctx context.Context, claim *corev1.PersistentVolumeClaim) (*csi.VolumeContentSource, error) {
	ref := claim.Spec.DataSourceRef
	if ref == nil && claim.Spec.DataSource != nil {
		ref = &corev1.TypedObjectReference{APIGroup: claim.Spec.DataSource.APIGroup, Kind: claim.Spec.DataSource.Kind, Name: claim.Spec.DataSource.Name}
	}
	if ref == nil {
		return nil, nil
	}
	group := ""
	if ref.APIGroup != nil {
		group = *ref.APIGroup
	}
	switch {
	case group == snapshotv1.GroupName && ref.Kind == "VolumeSnapshot":
		handle, err := p.snapshotHandle(ctx, claim.Namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: handle},
		}}, nil
	case group == "" && ref.Kind == "PersistentVolumeClaim":
		handle, err := p.volumeHandle(ctx, claim.Namespace, ref.Name)
		if err != nil {
			return nil, err
		}
		return &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
			Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: handle},
		}}, nil
	}
	return nil, fmt.Errorf("data source %s %s/%s is not supported: use a VolumeSnapshot or a PersistentVolumeClaim", ref.Kind, group, ref.Name)
}

func (p *provisioner) snapshotHandle(ctx context.Context, namespace, name string) (string, error) {
	snap, err := p.snapshots.SnapshotV1().VolumeSnapshots(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("data source: %w", err)
	}
	if snap.Status == nil || snap.Status.ReadyToUse == nil || !*snap.Status.ReadyToUse || snap.Status.BoundVolumeSnapshotContentName == nil {
		return "", fmt.Errorf("data source: VolumeSnapshot %s/%s is not ready to use yet", namespace, name)
	}
	content, err := p.snapshots.SnapshotV1().VolumeSnapshotContents().Get(ctx, *snap.Status.BoundVolumeSnapshotContentName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("data source: %w", err)
	}
	if content.Spec.Driver != DriverName || content.Status == nil || content.Status.SnapshotHandle == nil {
		return "", fmt.Errorf("data source: VolumeSnapshotContent %s is not a ready snapshot of %s", content.Name, DriverName)
	}
	return *content.Status.SnapshotHandle, nil
}

func (p *provisioner) volumeHandle(ctx context.Context, namespace, name string) (string, error) {
	source, err := p.client.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("data source: %w", err)
	}
	if source.Spec.VolumeName == "" {
		return "", fmt.Errorf("data source: PVC %s/%s is not bound yet", namespace, name)
	}
	pv, err := p.client.CoreV1().PersistentVolumes().Get(ctx, source.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("data source: %w", err)
	}
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != DriverName {
		return "", fmt.Errorf("data source: PV %s is not a volume of %s", pv.Name, DriverName)
	}
	return pv.Spec.CSI.VolumeHandle, nil
}
