package localcluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// execServer is the kubelet endpoint of every simulated node: the API server
// forwards `kubectl exec` to it, and the kubelet runs the command on this
// host, in the pod's directory and its container's cgroup.
//
// It replaces kwok's exec support because kwok wraps the command's error
// before handing it to the streaming library, which then reports every
// failure as an internal error: the caller never sees the exit code. kwok's
// Exec objects are also static, where each pod needs its own directory.
type execServer struct {
	kubelet  *kubelet
	listener net.Listener
	server   *http.Server
}

// startExecServer listens on a free loopback port, accepting only clients
// with a certificate from the cluster CA (the API server).
func startExecServer(k *kubelet, p *pki, logOut io.Writer) (*execServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &execServer{kubelet: k, listener: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("/exec/{namespace}/{pod}/{container}", s.handleExec)
	mux.HandleFunc("/exec/{namespace}/{pod}/{uid}/{container}", s.handleExec)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	s.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(logOut, "exec-server: ", log.LstdFlags),
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{p.kubeletServing},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    p.ca.pool(),
		},
		// Exec streams upgrade an HTTP/1.1 connection; HTTP/2 cannot.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	go func() { _ = s.server.ServeTLS(ln, "", "") }()
	return s, nil
}

func (s *execServer) port() int { return s.listener.Addr().(*net.TCPAddr).Port }

func (s *execServer) stop() { _ = s.server.Close() }

// volumeDir is where the commands of a pod without a PVC run: its
// simulated persistent volume, kept across pod deletion and recreation
// until the cluster is removed.
func volumeDir(volumesDir, namespace, pod string) string {
	return filepath.Join(volumesDir, namespace, pod)
}

func (s *execServer) handleExec(w http.ResponseWriter, r *http.Request) {
	namespace, pod := r.PathValue("namespace"), r.PathValue("pod")
	// Names become path elements; the API server validated them, this
	// keeps anything else from escaping the volumes directory.
	if len(validation.IsDNS1123Label(namespace)) != 0 || len(validation.IsDNS1123Subdomain(pod)) != 0 {
		http.Error(w, "invalid pod reference", http.StatusBadRequest)
		return
	}
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	command := r.URL.Query()["command"]
	if len(command) == 0 {
		http.Error(w, "no command", http.StatusBadRequest)
		return
	}
	executor := podExecutor{kubelet: s.kubelet, namespace: namespace, pod: pod}
	remotecommand.ServeExec(w, r, executor, pod, r.PathValue("uid"), r.PathValue("container"), command, opts,
		4*time.Hour, 30*time.Second, remotecommand.SupportedStreamingProtocols)
}

// execWaitDelay is how long an exec waits, once its command has exited,
// for the rest of the command's output.
const execWaitDelay = 250 * time.Millisecond

// podExecutor runs one exec request as a host process of the pod.
type podExecutor struct {
	kubelet        *kubelet
	namespace, pod string
}

// ExecInContainer runs cmd in the pod's directory and its container's
// cgroup. A non-zero exit is returned as a utilexec.ExitError, which the
// streaming library reports to the caller as that exit code. Without a
// pseudo-terminal, a tty request gets stdout and stderr on the one stream.
func (e podExecutor) ExecInContainer(ctx context.Context, _, _, container string, cmd []string, in io.Reader, stdout, stderr io.WriteCloser, tty bool, _ <-chan remotecommand.TerminalSize, _ time.Duration) error {
	pod, err := e.kubelet.getPod(ctx, e.namespace, e.pod)
	if err != nil {
		return err
	}
	if !e.kubelet.reachable(pod.Spec.NodeName) {
		return fmt.Errorf("node %s is unreachable: its heartbeat is stopped", pod.Spec.NodeName)
	}
	dir, err := e.kubelet.target(ctx, pod, container)
	if err != nil {
		return err
	}
	if err := e.kubelet.follow(ctx, pod); err != nil {
		return err
	}
	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	// A daemon the command leaves behind (`pg_ctl start`, `sleep 1000 &`)
	// holds stdout and stderr open; the exec ends with the command, and
	// what the daemon writes after that is dropped.
	c.WaitDelay = execWaitDelay
	c.Stdout = stdout
	c.Stderr = stderr
	if tty || stderr == nil {
		c.Stderr = stdout
	}
	if in != nil {
		// A pipe we feed ourselves: with c.Stdin set, Wait would also wait
		// for the client to close its stdin, which an exited command never needs.
		pipe, err := c.StdinPipe()
		if err != nil {
			return err
		}
		go func() {
			_, _ = io.Copy(pipe, in)
			_ = pipe.Close()
		}()
	}
	if err := e.kubelet.spawn(pod, container, dir, c); err != nil {
		return fmt.Errorf("%s: %w", strconv.Quote(cmd[0]), err)
	}
	err = c.Wait()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // exited 0, leaving a daemon behind
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return utilexec.ExitErrorWrapper{ExitError: exitErr}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", strconv.Quote(cmd[0]), err)
	}
	return nil
}
