// Package hookrun runs the replication hooks the decider asks for, outside
// the reconcile loop: a bounded pool of workers executes each hook in its
// member's container through the API server's pods/exec, at most one per
// member at a time, with a timeout and bounded output, and keeps the
// results for the next reconcile of the rollout, which it then triggers.
package hookrun

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

// Output is what a hook printed and how it ended.
type Output struct {
	Stdout, Stderr string
	ExitCode       int
}

// Exec runs command in a container and waits for it. An error is a hook
// that could not run or finish; a non-zero exit is not an error.
type Exec func(ctx context.Context, namespace, pod, container string, command []string) (Output, error)

// outputLimit bounds what is kept of a hook's stdout (its start: the
// sequence is one line) and stderr (its end: where the reason is).
const outputLimit = 4 << 10

// PodExec is an Exec through the API server's pods/exec subresource, over
// WebSocket with a fallback to SPDY for API servers that predate it.
func PodExec(config *rest.Config) (Exec, error) {
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, namespace, pod, container string, command []string) (Output, error) {
		req := clientset.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdout: true, Stderr: true}, scheme.ParameterCodec)
		websocket, err := remotecommand.NewWebSocketExecutor(config, http.MethodGet, req.URL().String())
		if err != nil {
			return Output{}, err
		}
		spdy, err := remotecommand.NewSPDYExecutor(config, http.MethodPost, req.URL())
		if err != nil {
			return Output{}, err
		}
		executor, err := remotecommand.NewFallbackExecutor(websocket, spdy, httpstream.IsUpgradeFailure)
		if err != nil {
			return Output{}, err
		}
		stdout, stderr := &head{limit: outputLimit}, &tail{limit: outputLimit}
		err = executor.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr})
		out := Output{Stdout: stdout.String(), Stderr: stderr.String()}
		var exit utilexec.CodeExitError
		if errors.As(err, &exit) {
			out.ExitCode = exit.Code
			return out, nil
		}
		return out, err
	}, nil
}

// head keeps the first limit bytes written to it.
type head struct {
	bytes.Buffer
	limit int
}

func (h *head) Write(p []byte) (int, error) {
	if room := h.limit - h.Len(); room > 0 {
		h.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// tail keeps the last limit bytes written to it.
type tail struct {
	buf   []byte
	limit int
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.buf) }
