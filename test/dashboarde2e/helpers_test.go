package dashboarde2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/sroll-dev/sroll/internal/cli"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// readOnlyContext is the context of the read-only kubeconfig.
const readOnlyContext = "viewer"

// kubeconfigs returns the admin context's name and a kubeconfig with it
// and a context, unreachableContext, whose API server does not exist.
func kubeconfigs(t *testing.T) (admin, path string) {
	t.Helper()
	config, err := clientcmd.LoadFromFile(clustertest.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	// Port 1 on loopback: nothing listens, the connection is refused at once.
	config.Clusters[unreachableContext] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	config.Contexts[unreachableContext] = &clientcmdapi.Context{Cluster: unreachableContext, AuthInfo: config.Contexts[config.CurrentContext].AuthInfo}
	return config.CurrentContext, writeKubeconfig(t, config, "with-gone.kubeconfig")
}

// readOnlyKubeconfig is a kubeconfig of a ServiceAccount that may read
// what the dashboard shows in namespace, and write nothing.
func readOnlyKubeconfig(t *testing.T, namespace string) string {
	t.Helper()
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(clustertest.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	read := []string{"get", "list", "watch"}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "rollout-viewer"},
		Rules: []rbacv1.PolicyRule{
			// Not rolloutsnapshots: the page works without them.
			{APIGroups: []string{"sroll.dev"}, Resources: []string{"statefulsetrollouts"}, Verbs: read},
			{APIGroups: []string{"apps"}, Resources: []string{"statefulsets", "controllerrevisions"}, Verbs: read},
			{APIGroups: []string{""}, Resources: []string{"pods", "events"}, Verbs: read},
		},
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "viewer"}}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "rollout-viewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: sa.Name}},
	}
	if _, err := cs.RbacV1().Roles(namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(namespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := clientcmd.LoadFromFile(clustertest.KubeconfigPath())
	if err != nil {
		t.Fatal(err)
	}
	cluster := admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster]
	config := clientcmdapi.NewConfig()
	config.Clusters[readOnlyContext] = cluster
	config.AuthInfos[readOnlyContext] = &clientcmdapi.AuthInfo{Token: token.Status.Token}
	config.Contexts[readOnlyContext] = &clientcmdapi.Context{Cluster: readOnlyContext, AuthInfo: readOnlyContext, Namespace: namespace}
	config.CurrentContext = readOnlyContext
	return writeKubeconfig(t, config, "viewer.kubeconfig")
}

func writeKubeconfig(t *testing.T, config *clientcmdapi.Config, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := clientcmd.WriteToFile(*config, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// startDashboard runs `kubectl sroll dashboard` in-process on a free port
// (args may name one) until stop is called or the test ends, and returns
// its URL.
func startDashboard(t *testing.T, kubeconfig string, args ...string) (url string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, stdout := io.Pipe()
	stderr := &syncBuffer{}
	exited := make(chan int, 1)
	all := append([]string{"dashboard", "--kubeconfig", kubeconfig, "--port", "0"}, args...)
	go func() {
		code := cli.Run(ctx, all, genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: stdout, ErrOut: stderr})
		_ = stdout.Close()
		exited <- code
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			code := <-exited
			t.Logf("kubectl sroll %s: exit %d\n%s", strings.Join(all, " "), code, stderr.String())
		})
	}
	t.Cleanup(stop)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("kubectl sroll dashboard said nothing: %v\n%s", err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	url, ok := strings.CutPrefix(line, "sroll dashboard: ")
	if !ok {
		t.Fatalf("kubectl sroll dashboard said %q", line)
	}
	url, _, _ = strings.Cut(url, " ")
	return url, stop
}

// syncBuffer is a bytes.Buffer that the dashboard writes to while the test
// may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
