package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// screens is the output of a running `status -w`, told on every write.
type screens struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func (s *screens) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func (s *screens) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits for the output to contain text, on the writes.
func (s *screens) waitFor(t *testing.T, text string) {
	t.Helper()
	timeout := time.After(time.Minute)
	for !strings.Contains(s.String(), text) {
		select {
		case <-s.wrote:
		case <-timeout:
			t.Fatalf("status -w never showed %q:\n%s", text, s.String())
		}
	}
}

// status -w redraws when the rollout changes in the API server: it reads
// from the watch. No operator runs: the test writes the status itself.
func TestStatusWatchRedrawsOnAChange(t *testing.T) {
	ns, c := clusterTest(t, false)
	r := newRollout(ns, "kv")
	create(t, c, r)
	setStatus := func(phase v1alpha1.Phase, message string) {
		t.Helper()
		if err := c.Get(t.Context(), client.ObjectKeyFromObject(r), r); err != nil {
			t.Fatal(err)
		}
		r.Status.Phase, r.Status.Message, r.Status.ObservedGeneration = phase, message, r.Generation
		if err := c.Status().Update(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	setStatus(v1alpha1.PhaseProgressing, "step 1/3 (50%): replacing kv-3")

	out := &screens{wrote: make(chan struct{}, 1)}
	code := make(chan int, 1)
	go func() {
		args := []string{"--kubeconfig", clustertest.KubeconfigPath(), "-n", ns, "status", "kv", "-w", "--timeout", "2m"}
		code <- Run(t.Context(), args, genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: out, ErrOut: out})
	}()
	out.waitFor(t, "Message:    step 1/3 (50%): replacing kv-3\n")

	setStatus(v1alpha1.PhaseProgressing, "step 1/3 (50%): replacing kv-2")
	out.waitFor(t, "Message:    step 1/3 (50%): replacing kv-2\n")

	setStatus(v1alpha1.PhaseCompleted, "rolled out")
	if got := <-code; got != exitOK {
		t.Errorf("exit %d, want 0 once Completed:\n%s", got, out.String())
	}
	if n := strings.Count(out.String(), "Name:"); n != 3 {
		t.Errorf("%d screens, want 3: one per change:\n%s", n, out.String())
	}
}
