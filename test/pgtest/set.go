// Package pgtest runs the PostgreSQL example of examples/postgres on the
// local cluster, for end-to-end tests: the example's rollout with its hooks
// run from this repository, SQL on each member, the members' roles as
// PostgreSQL reports them, and a Writer that inserts numbered rows and
// keeps the ones PostgreSQL acknowledged.
//
// The local cluster runs a pod's processes on this host, in the directory
// of its volume, so each member is a PostgreSQL server on 127.0.0.1 with a
// port of its own: PortBase + its ordinal.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/lib/pq" // the database/sql driver
	"sigs.k8s.io/yaml"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// Container is the example's container, the one its hooks run in.
const Container = "db"

// Set is the example's replicated set in one namespace.
type Set struct {
	// Rollout is the example's rollout, to create; its hooks are this
	// repository's scripts, told the ports and that members are on 127.0.0.1.
	Rollout *v1alpha1.StatefulSetRollout
	// PortBase is member 0's port; member i listens on PortBase+i.
	PortBase int
	hooks    string
}

// maxMembers is how many members' ports Example keeps free: the example's
// three, and room for a test that scales it up.
const maxMembers = 10

// Example is the rollout of examples/postgres/rollout.yaml in namespace
// ns, on free ports (up to maxMembers members). Change Rollout before
// creating it.
func Example(t testing.TB, ns string) *Set {
	t.Helper()
	dir := filepath.Join(e2eutil.RepoRoot(), "examples", "postgres")
	data, err := os.ReadFile(filepath.Join(dir, "rollout.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := &v1alpha1.StatefulSetRollout{}
	if err := yaml.UnmarshalStrict(data, r); err != nil {
		t.Fatalf("examples/postgres/rollout.yaml: %v", err)
	}
	r.Namespace = ns
	s := &Set{Rollout: r, PortBase: freePorts(t, maxMembers), hooks: filepath.Join(dir, "hooks")}
	hooks := &r.Spec.Replication.Hooks
	for _, h := range []*v1alpha1.Hook{&hooks.Sequence, &hooks.Seed, hooks.Primary, hooks.Secondary, &hooks.Stop, &hooks.Status.Hook, hooks.Switchover, hooks.Freeze, hooks.Thaw} {
		if h != nil {
			h.Command = s.command(h.Command)
		}
	}
	return s
}

// command is an example hook's command as the local cluster runs it: the
// script from this repository (no ConfigMap is mounted at /hooks there),
// with the ports and host the members have here.
func (s *Set) command(example []string) []string {
	script := filepath.Join(s.hooks, strings.TrimPrefix(example[0], "/hooks/"))
	return append([]string{"env", fmt.Sprintf("PG_PORT_BASE=%d", s.PortBase), "PG_HOST=127.0.0.1", script}, example[1:]...)
}

// freePorts finds n consecutive ports no one listens on, at random so that
// tests running at once on this machine do not collide.
func freePorts(t testing.TB, n int) int {
	t.Helper()
	for range 100 {
		base := 20000 + rand.IntN(20000)
		free := true
		for p := base; p < base+n && free; p++ {
			ln, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
			if err != nil {
				free = false
				continue
			}
			_ = ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatalf("no %d free consecutive ports", n)
	return 0
}

// Members are the members' names, pg-0 first.
func (s *Set) Members() []string {
	var out []string
	for i := range s.Rollout.Spec.ReplicasOrDefault() {
		out = append(out, fmt.Sprintf("%s-%d", s.Rollout.Name, i))
	}
	return out
}

// Port is where member listens.
func (s *Set) Port(member string) int {
	ordinal, ok := e2eutil.Ordinal(s.Rollout.Name, member)
	if !ok {
		panic("pgtest: " + member + " is not a member of " + s.Rollout.Name)
	}
	return s.PortBase + ordinal
}

// open connects to member's server.
func (s *Set) open(ctx context.Context, member string) (*sql.DB, error) {
	db, err := sql.Open("postgres", fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable connect_timeout=5", s.Port(member)))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// Query runs query on member and returns its first column, a row a line.
func (s *Set) Query(t testing.TB, member, query string) string {
	t.Helper()
	out, err := s.query(t.Context(), member, query)
	if err != nil {
		t.Fatalf("%s: %s: %v", member, query, err)
	}
	return out
}

func (s *Set) query(ctx context.Context, member, query string) (string, error) {
	db, err := s.open(ctx, member)
	if err != nil {
		return "", err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var value sql.NullString
		if err := rows.Scan(&value); err != nil {
			return "", err
		}
		lines = append(lines, value.String)
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// Standby reports whether member's server runs as a standby
// (pg_is_in_recovery).
func (s *Set) Standby(t testing.TB, member string) bool {
	t.Helper()
	return s.Query(t, member, "SELECT pg_is_in_recovery()") == "true"
}

// Streaming lists the standbys streaming from member, by their
// application_name (their pod's name), as pg_stat_replication has them.
func (s *Set) Streaming(t testing.TB, member string) []string {
	t.Helper()
	out := s.Query(t, member, "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming' ORDER BY 1")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// Hook runs one of the example's hooks on member, as sroll would, with
// args appended; it returns the hook's stdout.
func (s *Set) Hook(t testing.TB, member, hook string, args ...string) string {
	t.Helper()
	command := append(s.command([]string{"/hooks/" + hook}), args...)
	out, err := clustertest.Kubectl(t, append([]string{"-n", s.Rollout.Namespace, "exec", member, "-c", Container, "--"}, command...)...)
	if err != nil {
		t.Fatalf("%s hook on %s: %v", hook, member, err)
	}
	return out
}

// Kill sends SIGKILL to the postmaster of each member where one runs, all
// at once: a crash, nothing flushed or shut down (its other processes exit
// when they see it gone). It returns once each is reaped: on the local
// cluster, a pod's orphaned processes are reaped by this host's init, not by
// the pod (a second or two here), and until then a killed postmaster's pid
// still holds its data directory's lock file.
func (s *Set) Kill(t testing.TB, members ...string) {
	t.Helper()
	const script = `pid=$(head -n 1 pg/data/postmaster.pid 2>/dev/null) || exit 0
kill -KILL "$pid"
while [ -e /proc/"$pid" ]; do sleep 0.1; done`
	errs := make(chan error, len(members))
	for _, m := range members {
		go func() {
			_, err := clustertest.Kubectl(t, "-n", s.Rollout.Namespace, "exec", m, "-c", Container, "--", "sh", "-c", script)
			if err != nil {
				err = fmt.Errorf("kill PostgreSQL on %s: %w", m, err)
			}
			errs <- err
		}()
	}
	for range members {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// Primary is the member whose server takes writes (not in recovery), and
// whether there is exactly one such member.
func (s *Set) Primary(ctx context.Context) (string, bool) {
	var primaries []string
	for _, m := range s.Members() {
		if out, err := s.query(ctx, m, "SELECT NOT pg_is_in_recovery()"); err == nil && out == "true" {
			primaries = append(primaries, m)
		}
	}
	if len(primaries) != 1 {
		return "", false
	}
	return primaries[0], true
}
