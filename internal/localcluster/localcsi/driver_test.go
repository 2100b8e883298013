package localcsi

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// quiescer records which directories were frozen.
type quiescer struct{ frozen []string }

func (q *quiescer) Quiesce(_ context.Context, dirs []string) (func(), error) {
	q.frozen = append(q.frozen, dirs...)
	return func() {}, nil
}

var mount = []*csi.VolumeCapability{{
	AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
	AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
}}

func createVolume(t *testing.T, d *Driver, name string, source *csi.VolumeContentSource) *csi.Volume {
	t.Helper()
	resp, err := d.CreateVolume(t.Context(), &csi.CreateVolumeRequest{
		Name: name, VolumeCapabilities: mount, VolumeContentSource: source,
		CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 30},
	})
	if err != nil {
		t.Fatalf("CreateVolume %s: %v", name, err)
	}
	return resp.GetVolume()
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestSnapshotRestoreAndClone(t *testing.T) {
	q := &quiescer{}
	d, err := NewDriver(t.TempDir(), q)
	if err != nil {
		t.Fatal(err)
	}
	v := createVolume(t, d, "pvc-a", nil)
	if again := createVolume(t, d, "pvc-a", nil); again.GetVolumeId() != v.GetVolumeId() {
		t.Fatalf("a second CreateVolume of the same name made %s", again.GetVolumeId())
	}
	data := filepath.Join(d.VolumeDir("pvc-a"), "pgdata")
	writeFile(t, filepath.Join(data, "PG_VERSION"), "17\n", 0o600)
	if err := os.Chmod(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("PG_VERSION", filepath.Join(data, "link")); err != nil {
		t.Fatal(err)
	}

	snap, err := d.CreateSnapshot(t.Context(), &csi.CreateSnapshotRequest{Name: "snapshot-1", SourceVolumeId: "pvc-a"})
	if err != nil {
		t.Fatal(err)
	}
	if !snap.GetSnapshot().GetReadyToUse() || snap.GetSnapshot().GetSizeBytes() != 1<<30 {
		t.Errorf("snapshot %+v, want ready and as large as its volume", snap.GetSnapshot())
	}
	if !slices.Equal(q.frozen, []string{d.VolumeDir("pvc-a")}) {
		t.Errorf("frozen %v during the snapshot, want the volume's directory", q.frozen)
	}
	writeFile(t, filepath.Join(data, "PG_VERSION"), "18\n", 0o600)

	createVolume(t, d, "pvc-b", &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
		Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: "snapshot-1"}}})
	restored := filepath.Join(d.VolumeDir("pvc-b"), "pgdata")
	if got := readFile(t, filepath.Join(restored, "link")); got != "17\n" {
		t.Errorf("restored file holds %q, want the content at the snapshot", got)
	}
	if info, err := os.Stat(restored); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("restored directory mode %v (%v), want 0700 kept", info.Mode(), err)
	}

	createVolume(t, d, "pvc-c", &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Volume{
		Volume: &csi.VolumeContentSource_VolumeSource{VolumeId: "pvc-a"}}})
	if got := readFile(t, filepath.Join(d.VolumeDir("pvc-c"), "pgdata", "PG_VERSION")); got != "18\n" {
		t.Errorf("clone holds %q, want the source's current content", got)
	}

	_, err = d.CreateVolume(t.Context(), &csi.CreateVolumeRequest{Name: "pvc-small", VolumeCapabilities: mount,
		CapacityRange: &csi.CapacityRange{RequiredBytes: 1 << 20},
		VolumeContentSource: &csi.VolumeContentSource{Type: &csi.VolumeContentSource_Snapshot{
			Snapshot: &csi.VolumeContentSource_SnapshotSource{SnapshotId: "snapshot-1"}}}})
	if status.Code(err) != codes.OutOfRange {
		t.Errorf("restore into a volume smaller than the snapshot: %v, want OutOfRange", err)
	}
	if _, err := os.Stat(d.VolumeDir("pvc-small")); !os.IsNotExist(err) {
		t.Errorf("a failed CreateVolume left its directory: %v", err)
	}
}

func TestGroupSnapshotListAndExpand(t *testing.T) {
	d, err := NewDriver(t.TempDir(), &quiescer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pvc-0", "pvc-1", "pvc-2"} {
		createVolume(t, d, name, nil)
		writeFile(t, filepath.Join(d.VolumeDir(name), "f"), name, 0o644)
	}
	req := &csi.CreateVolumeGroupSnapshotRequest{Name: "group-1", SourceVolumeIds: []string{"pvc-2", "pvc-0", "pvc-1"}}
	resp, err := d.CreateVolumeGroupSnapshot(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	group := resp.GetGroupSnapshot()
	if len(group.GetSnapshots()) != 3 || !group.GetReadyToUse() {
		t.Fatalf("group snapshot %+v, want 3 ready members", group)
	}
	for _, s := range group.GetSnapshots() {
		if !s.GetCreationTime().AsTime().Equal(group.GetCreationTime().AsTime()) || s.GetGroupSnapshotId() != "group-1" {
			t.Errorf("member %+v not of the group's instant %s", s, group.GetCreationTime().AsTime())
		}
	}
	if again, err := d.CreateVolumeGroupSnapshot(t.Context(), req); err != nil || len(again.GetGroupSnapshot().GetSnapshots()) != 3 {
		t.Errorf("repeating CreateVolumeGroupSnapshot: %v, %+v", err, again)
	}

	var listed []string
	token := ""
	for {
		page, err := d.ListSnapshots(t.Context(), &csi.ListSnapshotsRequest{MaxEntries: 2, StartingToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.GetEntries() {
			listed = append(listed, e.GetSnapshot().GetSourceVolumeId())
		}
		if token = page.GetNextToken(); token == "" {
			break
		}
	}
	if want := []string{"pvc-0", "pvc-1", "pvc-2"}; !slices.Equal(listed, want) {
		t.Errorf("listed snapshots of %v, want %v", listed, want)
	}

	if _, err := d.DeleteVolumeGroupSnapshot(t.Context(), &csi.DeleteVolumeGroupSnapshotRequest{GroupSnapshotId: "group-1"}); err != nil {
		t.Fatal(err)
	}
	if page, err := d.ListSnapshots(t.Context(), &csi.ListSnapshotsRequest{}); err != nil || len(page.GetEntries()) != 0 {
		t.Errorf("after deleting the group: %v, %d snapshots left", err, len(page.GetEntries()))
	}

	grown, err := d.ControllerExpandVolume(t.Context(), &csi.ControllerExpandVolumeRequest{VolumeId: "pvc-0",
		CapacityRange: &csi.CapacityRange{RequiredBytes: 2 << 30}})
	if err != nil || grown.GetCapacityBytes() != 2<<30 || grown.GetNodeExpansionRequired() {
		t.Errorf("expand to 2Gi: %+v, %v", grown, err)
	}
}

// A class whose parameters say "fail" fails every snapshot with that
// message, single and group, and leaves nothing behind.
func TestSnapshotClassThatFails(t *testing.T) {
	d, err := NewDriver(t.TempDir(), &quiescer{})
	if err != nil {
		t.Fatal(err)
	}
	createVolume(t, d, "v1", nil)
	fail := map[string]string{ParameterFail: "out of snapshot space"}
	_, err = d.CreateSnapshot(t.Context(), &csi.CreateSnapshotRequest{Name: "s1", SourceVolumeId: "v1", Parameters: fail})
	if status.Code(err) != codes.FailedPrecondition || status.Convert(err).Message() != "out of snapshot space" {
		t.Fatalf("CreateSnapshot with %v: %v, want FailedPrecondition: out of snapshot space", fail, err)
	}
	_, err = d.CreateVolumeGroupSnapshot(t.Context(), &csi.CreateVolumeGroupSnapshotRequest{Name: "g1", SourceVolumeIds: []string{"v1"}, Parameters: fail})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("CreateVolumeGroupSnapshot with %v: %v, want FailedPrecondition", fail, err)
	}
	list, err := d.ListSnapshots(t.Context(), &csi.ListSnapshotsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetEntries()) != 0 {
		t.Errorf("failed snapshots left %d entries", len(list.GetEntries()))
	}
}
