// Package localcsi is the local cluster's storage: a CSI plugin whose
// volumes are directories on this machine, the provisioner and the resizer
// that drive it through the CSI protocol, as external-provisioner and
// external-resizer would. The upstream snapshot-controller and
// csi-snapshotter sidecar drive its snapshot calls.
package localcsi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// DriverName is the CSI driver name, in the PVs it provisions and in the
// StorageClass and snapshot classes that use it.
const DriverName = "local.csi.sroll.dev"

// ParameterFail, in a VolumeSnapshotClass's or VolumeGroupSnapshotClass's
// parameters, makes every snapshot of that class fail with its value as
// the driver's error, as a storage array out of snapshot space would:
// tests of what sroll does when a snapshot fails use it.
const ParameterFail = "fail"

// defaultCapacity is what a volume gets when the request names no size.
const defaultCapacity = 1 << 30

// Quiescer stops every process writing to the given directories until thaw
// is called, so that a snapshot copies them as of one instant, as a
// storage array's snapshot would. The pods' process supervisor is one.
type Quiescer interface {
	Quiesce(ctx context.Context, dirs []string) (thaw func(), err error)
}

// Driver serves the CSI Identity, Controller and GroupController services.
// Node calls are not served: nothing is mounted, pods use the volume's
// directory directly.
type Driver struct {
	csi.UnimplementedIdentityServer
	csi.UnimplementedControllerServer
	csi.UnimplementedGroupControllerServer

	store   store
	quiesce Quiescer
	now     func() time.Time

	// mu serialises every call: each is short, and idempotency by name
	// needs one view of the store at a time.
	mu sync.Mutex
}

// NewDriver returns a driver keeping its data under root.
func NewDriver(root string, q Quiescer) (*Driver, error) {
	for _, kind := range []string{kindVolumes, kindSnapshots, kindGroups} {
		if err := os.MkdirAll(filepath.Join(root, kind), 0o755); err != nil {
			return nil, err
		}
	}
	return &Driver{store: store(root), quiesce: q, now: time.Now}, nil
}

// VolumeDir is the directory holding a volume's files.
func (d *Driver) VolumeDir(volumeID string) string { return d.store.VolumeDir(volumeID) }

// GetPluginInfo names the driver.
func (d *Driver) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: DriverName, VendorVersion: "v1"}, nil
}

// GetPluginCapabilities says the driver has a controller and a group
// controller, and that volumes grow while in use.
func (d *Driver) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	service := func(t csi.PluginCapability_Service_Type) *csi.PluginCapability {
		return &csi.PluginCapability{Type: &csi.PluginCapability_Service_{Service: &csi.PluginCapability_Service{Type: t}}}
	}
	return &csi.GetPluginCapabilitiesResponse{Capabilities: []*csi.PluginCapability{
		service(csi.PluginCapability_Service_CONTROLLER_SERVICE),
		service(csi.PluginCapability_Service_GROUP_CONTROLLER_SERVICE),
		{Type: &csi.PluginCapability_VolumeExpansion_{VolumeExpansion: &csi.PluginCapability_VolumeExpansion{
			Type: csi.PluginCapability_VolumeExpansion_ONLINE,
		}}},
	}}, nil
}

// Probe reports the driver ready: it has no backend to wait for.
func (d *Driver) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{Ready: wrapperspb.Bool(true)}, nil
}

// ControllerGetCapabilities lists the controller calls the driver serves.
func (d *Driver) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_CLONE_VOLUME,
		csi.ControllerServiceCapability_RPC_EXPAND_VOLUME,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{
			Rpc: &csi.ControllerServiceCapability_RPC{Type: t},
		}})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

// CreateVolume makes a volume's directory: empty, or a copy of the snapshot
// or volume named as its content source. A second call with the same name
// returns the same volume.
func (d *Driver) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if err := checkID(req.GetName()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "volume capabilities missing")
	}
	capacity := req.GetCapacityRange().GetRequiredBytes()
	if capacity == 0 {
		capacity = defaultCapacity
	}
	if limit := req.GetCapacityRange().GetLimitBytes(); limit != 0 && capacity > limit {
		return nil, status.Errorf(codes.OutOfRange, "required %d bytes exceed the limit of %d", capacity, limit)
	}
	want := volumeRecord{ID: req.GetName(), CapacityBytes: capacity,
		SourceSnapshot: req.GetVolumeContentSource().GetSnapshot().GetSnapshotId(),
		SourceVolume:   req.GetVolumeContentSource().GetVolume().GetVolumeId()}

	d.mu.Lock()
	defer d.mu.Unlock()
	var have volumeRecord
	if found, err := d.store.read(kindVolumes, want.ID, &have); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	} else if found {
		if have != want {
			return nil, status.Errorf(codes.AlreadyExists, "volume %s exists with capacity %d and source %q/%q",
				have.ID, have.CapacityBytes, have.SourceSnapshot, have.SourceVolume)
		}
		return &csi.CreateVolumeResponse{Volume: volumeOf(have, req)}, nil
	}
	if err := d.fill(ctx, want); err != nil {
		_ = d.store.remove(kindVolumes, want.ID)
		return nil, err
	}
	if err := d.store.write(kindVolumes, want.ID, want); err != nil {
		_ = d.store.remove(kindVolumes, want.ID)
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.CreateVolumeResponse{Volume: volumeOf(want, req)}, nil
}

// fill creates a new volume's directory with its initial content.
func (d *Driver) fill(ctx context.Context, v volumeRecord) error {
	dir := d.store.VolumeDir(v.ID)
	switch {
	case v.SourceSnapshot != "":
		var snap snapshotRecord
		if found, err := d.store.read(kindSnapshots, v.SourceSnapshot, &snap); err != nil {
			return status.Error(codes.Internal, err.Error())
		} else if !found {
			return status.Errorf(codes.NotFound, "snapshot %s not found", v.SourceSnapshot)
		}
		if snap.SizeBytes > v.CapacityBytes {
			return status.Errorf(codes.OutOfRange, "snapshot %s is of %d bytes, more than the %d requested", snap.ID, snap.SizeBytes, v.CapacityBytes)
		}
		if err := copyTree(d.store.snapshotDir(snap.ID), dir); err != nil {
			return status.Errorf(codes.Internal, "restore snapshot %s: %v", snap.ID, err)
		}
	case v.SourceVolume != "":
		var src volumeRecord
		if found, err := d.store.read(kindVolumes, v.SourceVolume, &src); err != nil {
			return status.Error(codes.Internal, err.Error())
		} else if !found {
			return status.Errorf(codes.NotFound, "volume %s not found", v.SourceVolume)
		}
		if src.CapacityBytes > v.CapacityBytes {
			return status.Errorf(codes.OutOfRange, "volume %s holds %d bytes, more than the %d requested", src.ID, src.CapacityBytes, v.CapacityBytes)
		}
		err := d.frozen(ctx, []string{d.store.VolumeDir(src.ID)}, func() error {
			return copyTree(d.store.VolumeDir(src.ID), dir)
		})
		if err != nil {
			return status.Errorf(codes.Internal, "clone volume %s: %v", src.ID, err)
		}
	default:
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return status.Error(codes.Internal, err.Error())
		}
	}
	return nil
}

func volumeOf(v volumeRecord, req *csi.CreateVolumeRequest) *csi.Volume {
	return &csi.Volume{VolumeId: v.ID, CapacityBytes: v.CapacityBytes, ContentSource: req.GetVolumeContentSource()}
}

// DeleteVolume removes a volume's directory. Deleting a volume that is not
// there succeeds, as the spec asks.
func (d *Driver) DeleteVolume(_ context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	if err := checkID(req.GetVolumeId()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.store.remove(kindVolumes, req.GetVolumeId()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.DeleteVolumeResponse{}, nil
}

// ControllerExpandVolume records a volume's new capacity. A directory has
// no size to grow, and nothing is mounted, so no node step follows.
func (d *Driver) ControllerExpandVolume(_ context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	if err := checkID(req.GetVolumeId()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var v volumeRecord
	if found, err := d.store.read(kindVolumes, req.GetVolumeId(), &v); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	} else if !found {
		return nil, status.Errorf(codes.NotFound, "volume %s not found", req.GetVolumeId())
	}
	if want := req.GetCapacityRange().GetRequiredBytes(); want > v.CapacityBytes {
		v.CapacityBytes = want
		if err := d.store.write(kindVolumes, v.ID, v); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	return &csi.ControllerExpandVolumeResponse{CapacityBytes: v.CapacityBytes, NodeExpansionRequired: false}, nil
}

// CreateSnapshot copies a volume's directory while its writers are frozen.
func (d *Driver) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if err := checkID(req.GetName()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := checkID(req.GetSourceVolumeId()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if msg := req.GetParameters()[ParameterFail]; msg != "" {
		return nil, status.Error(codes.FailedPrecondition, msg)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	snaps, err := d.snapshotVolumes(ctx, "", map[string]string{req.GetSourceVolumeId(): req.GetName()})
	if err != nil {
		return nil, err
	}
	return &csi.CreateSnapshotResponse{Snapshot: snaps[0]}, nil
}

// snapshotVolumes takes one snapshot per source volume (volume id →
// snapshot id) at one instant: every writer of every source is frozen for
// the whole copy. Snapshots that exist already are returned as they are.
func (d *Driver) snapshotVolumes(ctx context.Context, groupID string, sources map[string]string) ([]*csi.Snapshot, error) {
	volumes := slices.Sorted(maps.Keys(sources))
	var records []snapshotRecord
	var missing []snapshotRecord
	for _, volumeID := range volumes {
		var have snapshotRecord
		found, err := d.store.read(kindSnapshots, sources[volumeID], &have)
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		if found {
			if have.SourceVolumeID != volumeID || have.GroupID != groupID {
				return nil, status.Errorf(codes.AlreadyExists, "snapshot %s exists, of volume %s", have.ID, have.SourceVolumeID)
			}
			records = append(records, have)
			continue
		}
		var v volumeRecord
		if found, err := d.store.read(kindVolumes, volumeID, &v); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		} else if !found {
			return nil, status.Errorf(codes.NotFound, "volume %s not found", volumeID)
		}
		// A snapshot is as large as its volume, as on a block device: a
		// restore needs at least that much.
		missing = append(missing, snapshotRecord{ID: sources[volumeID], SourceVolumeID: volumeID, SizeBytes: v.CapacityBytes, GroupID: groupID})
	}
	if len(missing) > 0 {
		dirs := make([]string, len(missing))
		for i, m := range missing {
			dirs[i] = d.store.VolumeDir(m.SourceVolumeID)
		}
		var created int64
		err := d.frozen(ctx, dirs, func() error {
			created = d.now().UnixNano()
			for i := range missing {
				if err := copyTree(dirs[i], d.store.snapshotDir(missing[i].ID)); err != nil {
					return fmt.Errorf("snapshot volume %s: %w", missing[i].SourceVolumeID, err)
				}
			}
			return nil
		})
		for _, m := range missing {
			if err == nil {
				m.CreatedUnixNs = created
				err = d.store.write(kindSnapshots, m.ID, m)
			}
		}
		if err != nil {
			for _, m := range missing {
				_ = d.store.remove(kindSnapshots, m.ID)
			}
			return nil, status.Error(codes.Internal, err.Error())
		}
		for _, m := range missing {
			m.CreatedUnixNs = created
			records = append(records, m)
		}
	}
	out := make([]*csi.Snapshot, len(records))
	for i, r := range records {
		out[i] = snapshotOf(r)
	}
	return out, nil
}

// frozen runs copy while the writers of dirs are frozen.
func (d *Driver) frozen(ctx context.Context, dirs []string, copy func() error) error {
	if d.quiesce == nil {
		return copy()
	}
	thaw, err := d.quiesce.Quiesce(ctx, dirs)
	if err != nil {
		return err
	}
	defer thaw()
	return copy()
}

func snapshotOf(r snapshotRecord) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId:      r.ID,
		SourceVolumeId:  r.SourceVolumeID,
		SizeBytes:       r.SizeBytes,
		CreationTime:    timestamppb.New(time.Unix(0, r.CreatedUnixNs)),
		ReadyToUse:      true,
		GroupSnapshotId: r.GroupID,
	}
}

// DeleteSnapshot removes a snapshot's copy; a missing one is deleted already.
func (d *Driver) DeleteSnapshot(_ context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	if err := checkID(req.GetSnapshotId()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.store.remove(kindSnapshots, req.GetSnapshotId()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

// ListSnapshots lists snapshots by id, optionally only one or only those of
// one volume, in pages of max_entries.
func (d *Driver) ListSnapshots(_ context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	d.mu.Lock()
	all, err := d.store.snapshots()
	d.mu.Unlock()
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	var matching []snapshotRecord
	for _, r := range all {
		if (req.GetSnapshotId() == "" || r.ID == req.GetSnapshotId()) &&
			(req.GetSourceVolumeId() == "" || r.SourceVolumeID == req.GetSourceVolumeId()) {
			matching = append(matching, r)
		}
	}
	start := 0
	if token := req.GetStartingToken(); token != "" {
		if start, err = strconv.Atoi(token); err != nil || start < 0 || start > len(matching) {
			return nil, status.Errorf(codes.Aborted, "invalid starting token %q", token)
		}
	}
	end, next := len(matching), ""
	if n := int(req.GetMaxEntries()); n > 0 && start+n < end {
		end, next = start+n, strconv.Itoa(start+n)
	}
	resp := &csi.ListSnapshotsResponse{NextToken: next}
	for _, r := range matching[start:end] {
		resp.Entries = append(resp.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: snapshotOf(r)})
	}
	return resp, nil
}

// GroupControllerGetCapabilities says group snapshots are served.
func (d *Driver) GroupControllerGetCapabilities(context.Context, *csi.GroupControllerGetCapabilitiesRequest) (*csi.GroupControllerGetCapabilitiesResponse, error) {
	return &csi.GroupControllerGetCapabilitiesResponse{Capabilities: []*csi.GroupControllerServiceCapability{{
		Type: &csi.GroupControllerServiceCapability_Rpc{Rpc: &csi.GroupControllerServiceCapability_RPC{
			Type: csi.GroupControllerServiceCapability_RPC_CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT,
		}},
	}}}, nil
}

// CreateVolumeGroupSnapshot snapshots every source volume at one instant.
// Member snapshot ids are the group's name and the volume's id.
func (d *Driver) CreateVolumeGroupSnapshot(ctx context.Context, req *csi.CreateVolumeGroupSnapshotRequest) (*csi.CreateVolumeGroupSnapshotResponse, error) {
	groupID := req.GetName()
	if err := checkID(groupID); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if len(req.GetSourceVolumeIds()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "no source volumes")
	}
	if msg := req.GetParameters()[ParameterFail]; msg != "" {
		return nil, status.Error(codes.FailedPrecondition, msg)
	}
	sources := map[string]string{}
	for _, v := range req.GetSourceVolumeIds() {
		if err := checkID(v); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		sources[v] = groupID + "-" + v
		if err := checkID(sources[v]); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var have groupRecord
	if found, err := d.store.read(kindGroups, groupID, &have); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	} else if found && !slices.Equal(have.SnapshotIDs, slices.Sorted(maps.Values(sources))) {
		return nil, status.Errorf(codes.AlreadyExists, "group snapshot %s exists with other volumes", groupID)
	}
	snaps, err := d.snapshotVolumes(ctx, groupID, sources)
	if err != nil {
		return nil, err
	}
	group := groupRecord{ID: groupID, SnapshotIDs: slices.Sorted(maps.Values(sources)), CreatedUnixNs: snaps[0].GetCreationTime().AsTime().UnixNano()}
	if err := d.store.write(kindGroups, groupID, group); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.CreateVolumeGroupSnapshotResponse{GroupSnapshot: groupSnapshotOf(group, snaps)}, nil
}

func groupSnapshotOf(g groupRecord, snaps []*csi.Snapshot) *csi.VolumeGroupSnapshot {
	return &csi.VolumeGroupSnapshot{
		GroupSnapshotId: g.ID,
		Snapshots:       snaps,
		CreationTime:    timestamppb.New(time.Unix(0, g.CreatedUnixNs)),
		ReadyToUse:      true,
	}
}

// DeleteVolumeGroupSnapshot removes a group snapshot and its members.
func (d *Driver) DeleteVolumeGroupSnapshot(_ context.Context, req *csi.DeleteVolumeGroupSnapshotRequest) (*csi.DeleteVolumeGroupSnapshotResponse, error) {
	if err := checkID(req.GetGroupSnapshotId()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var g groupRecord
	if _, err := d.store.read(kindGroups, req.GetGroupSnapshotId(), &g); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	for _, id := range append(g.SnapshotIDs, req.GetSnapshotIds()...) {
		if err := checkID(id); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		if err := d.store.remove(kindSnapshots, id); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
	}
	if err := d.store.remove(kindGroups, req.GetGroupSnapshotId()); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &csi.DeleteVolumeGroupSnapshotResponse{}, nil
}

// GetVolumeGroupSnapshot returns a group snapshot with its members.
func (d *Driver) GetVolumeGroupSnapshot(_ context.Context, req *csi.GetVolumeGroupSnapshotRequest) (*csi.GetVolumeGroupSnapshotResponse, error) {
	if err := checkID(req.GetGroupSnapshotId()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var g groupRecord
	if found, err := d.store.read(kindGroups, req.GetGroupSnapshotId(), &g); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	} else if !found {
		return nil, status.Errorf(codes.NotFound, "group snapshot %s not found", req.GetGroupSnapshotId())
	}
	snaps := make([]*csi.Snapshot, 0, len(g.SnapshotIDs))
	for _, id := range g.SnapshotIDs {
		var r snapshotRecord
		if found, err := d.store.read(kindSnapshots, id, &r); err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		} else if !found {
			return nil, status.Errorf(codes.NotFound, "snapshot %s of group %s not found", id, g.ID)
		}
		snaps = append(snaps, snapshotOf(r))
	}
	return &csi.GetVolumeGroupSnapshotResponse{GroupSnapshot: groupSnapshotOf(g, snaps)}, nil
}
