package localcsi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"k8s.io/apimachinery/pkg/util/validation"
)

// store keeps the driver's objects on disk: each volume and each snapshot is
// a directory with a JSON record beside it, so a cluster's data survives the
// process that serves it and `make cluster-down` removes it with the state
// directory.
//
//	<root>/volumes/<volume id>/       the volume's files
//	<root>/volumes/<volume id>.json   its record
//	<root>/snapshots/<snapshot id>/   a copy of the source volume
//	<root>/snapshots/<snapshot id>.json
//	<root>/groups/<group id>.json     the snapshots a group snapshot holds
type store string

type volumeRecord struct {
	ID            string `json:"id"`
	CapacityBytes int64  `json:"capacityBytes"`
	// Source is the snapshot or volume the volume was created from, if any.
	SourceSnapshot string `json:"sourceSnapshot,omitempty"`
	SourceVolume   string `json:"sourceVolume,omitempty"`
}

type snapshotRecord struct {
	ID             string `json:"id"`
	SourceVolumeID string `json:"sourceVolumeId"`
	SizeBytes      int64  `json:"sizeBytes"`
	CreatedUnixNs  int64  `json:"createdUnixNs"`
	GroupID        string `json:"groupId,omitempty"`
}

type groupRecord struct {
	ID            string   `json:"id"`
	SnapshotIDs   []string `json:"snapshotIds"`
	CreatedUnixNs int64    `json:"createdUnixNs"`
}

const (
	kindVolumes   = "volumes"
	kindSnapshots = "snapshots"
	kindGroups    = "groups"
)

// checkID keeps ids, which become path elements, to the names Kubernetes
// gives objects (the external provisioner and snapshotter pass object names).
func checkID(id string) error {
	if errs := validation.IsDNS1123Subdomain(id); len(errs) != 0 {
		return fmt.Errorf("invalid id %q: %s", id, strings.Join(errs, "; "))
	}
	return nil
}

// VolumeDir is the directory holding a volume's files.
func (s store) VolumeDir(id string) string { return filepath.Join(string(s), kindVolumes, id) }

func (s store) snapshotDir(id string) string { return filepath.Join(string(s), kindSnapshots, id) }

func (s store) recordPath(kind, id string) string {
	return filepath.Join(string(s), kind, id+".json")
}

// read loads a record; found is false when there is none.
func (s store) read(kind, id string, into any) (found bool, err error) {
	data, err := os.ReadFile(s.recordPath(kind, id))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(data, into)
}

// write replaces a record atomically, so a crash never leaves half of one.
func (s store) write(kind, id string, record any) error {
	data, err := json.MarshalIndent(record, "", "  ")
	if err != nil {
		return err
	}
	path := s.recordPath(kind, id)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path+".tmp", data, 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// remove deletes a record and, for volumes and snapshots, their files.
// Removing what does not exist succeeds.
func (s store) remove(kind, id string) error {
	if kind != kindGroups {
		if err := os.RemoveAll(filepath.Join(string(s), kind, id)); err != nil {
			return err
		}
	}
	if err := os.Remove(s.recordPath(kind, id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// snapshots lists every snapshot record, ordered by id.
func (s store) snapshots() ([]snapshotRecord, error) {
	paths, err := filepath.Glob(filepath.Join(string(s), kindSnapshots, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	out := make([]snapshotRecord, 0, len(paths))
	for _, p := range paths {
		var r snapshotRecord
		if _, err := s.read(kindSnapshots, strings.TrimSuffix(filepath.Base(p), ".json"), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// copyTree copies the directory src to dst, which must not exist, keeping
// modes, owners and symbolic links, so that a database's data directory
// (mode 0700, owned by its user) is usable where it is restored. Sockets
// and named pipes are not data and are left out.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			if err := os.Mkdir(target, mode.Perm()); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := copyFile(path, target, mode.Perm()); err != nil {
				return err
			}
		default:
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			if err := os.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
				return err
			}
		}
		if info.IsDir() {
			// Mkdir applies the umask; the copy must keep the exact mode.
			return os.Chmod(target, info.Mode().Perm())
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst, perm)
	}
	return err
}
