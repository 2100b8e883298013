package failovere2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/fencing"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/internal/notify"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// fencer is a fencing webhook: it refuses until told to confirm, and then
// powers the node off before it says so, as a fencing agent would. It
// checks every request's signature.
type fencer struct {
	t       *testing.T
	mu      sync.Mutex
	confirm bool
	asked   []fencing.Request
}

const fencingKey = "fencing-signing-key"

func (f *fencer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, []byte(fencingKey))
	mac.Write(body)
	if r.Header.Get(notify.HeaderSignature) != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		f.t.Errorf("fencing request not signed with the key: %q", r.Header.Get(notify.HeaderSignature))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var req fencing.Request
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("fencing request: %v: %s", err, body)
	}
	f.mu.Lock()
	f.asked = append(f.asked, req)
	confirm := f.confirm
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !confirm {
		w.WriteHeader(http.StatusConflict)
		_ = json.NewEncoder(w).Encode(fencing.Answer{Message: "power controller of " + req.Node + " unreachable"})
		return
	}
	clustertest.Cluster().PowerOffNode(req.Node)
	_ = json.NewEncoder(w).Encode(fencing.Answer{Fenced: true, Message: req.Node + " powered off"})
}

// The primary's node stops its heartbeat (the pod and its application run
// on, cut off). With a fencing webhook that refuses, nothing is tainted or
// force-deleted, no failover happens, and status says why. Once it
// confirms (powering the node off), the node is tainted out of service,
// Kubernetes evicts and force-deletes kv-0, which comes back on another
// node as a secondary of the member failover promoted; when the node's
// heartbeat returns, the taint is removed.
func TestFencingBeforeFailover(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	f := &fencer{t: t}
	server := httptest.NewServer(f)
	t.Cleanup(server.Close)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fencing", Labels: map[string]string{v1alpha1.LabelNotificationSecret: "true"}},
		StringData: map[string]string{"key": fencingKey},
	}
	if err := c.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	e2eutil.StartOperator(t, ns, "--watch-nodes=true", "--allowed-hosts=127.0.0.1")
	r := replicatedRollout(ns)
	after := int32(3)
	r.Spec.Replication.Failover = &v1alpha1.FailoverSpec{Enabled: true, AfterSeconds: &after}
	r.Spec.Replication.Fencing = &v1alpha1.FencingSpec{AfterSeconds: &after, Webhook: &v1alpha1.WebhookEndpoint{
		URL: server.URL, SigningKeySecretRef: &v1alpha1.SecretKeyRef{Name: "fencing", Key: "key"},
	}}
	// One member per node while it can be; a pod force-deleted from its
	// node still finds another.
	r.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{
			TopologyKey: "kubernetes.io/hostname", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "kv"}},
		}}},
	}}
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	e2eutil.WaitReplication(t, c, r, 2*time.Minute, "Healthy with kv-0 primary", func(st *v1alpha1.ReplicationStatus) bool {
		return healthyWith(st, "kv-0")
	})
	var primary corev1.Pod
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "kv-0"}, &primary); err != nil {
		t.Fatal(err)
	}
	node := primary.Spec.NodeName

	if err := clustertest.Cluster().StopHeartbeat(context.Background(), node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = clustertest.Cluster().RestartHeartbeat(context.Background(), node) })
	refused := e2eutil.WaitReplication(t, c, r, 2*time.Minute, "fencing refused", func(st *v1alpha1.ReplicationStatus) bool {
		return len(st.Fencing) == 1 && st.Fencing[0].State == v1alpha1.FencingRefused && st.Fencing[0].Failures >= 2
	})
	if msg := refused.Fencing[0].Message; !strings.Contains(msg, "409 Conflict") || !strings.Contains(msg, "power controller of "+node+" unreachable") {
		t.Errorf("fencing record says %q, want the webhook's refusal", msg)
	}
	if !strings.Contains(refused.Message, "nothing on it is force-deleted") || !strings.Contains(refused.Message, "not failing over from kv-0") {
		t.Errorf("status does not say why nothing happens: %s", refused.Message)
	}
	if e2eutil.Primary(refused) != "kv-0" || refused.Promotion != nil {
		t.Errorf("failed over without fencing: %s", describe(refused))
	}
	var stuck corev1.Pod
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "kv-0"}, &stuck); err != nil || stuck.UID != primary.UID {
		t.Fatalf("kv-0 was replaced without fencing (err %v)", err)
	}
	checkTaint(t, c, node, false)

	f.mu.Lock()
	f.confirm = true
	f.mu.Unlock()
	failedOver := e2eutil.WaitReplication(t, c, r, 3*time.Minute, "failed over, kv-0 back as a secondary", func(st *v1alpha1.ReplicationStatus) bool {
		p := e2eutil.Primary(st)
		return e2eutil.Healthy(st) && p != "" && p != "kv-0" && st.Promotion == nil
	})
	var moved corev1.Pod
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "kv-0"}, &moved); err != nil {
		t.Fatal(err)
	}
	if moved.UID == primary.UID || moved.Spec.NodeName == node {
		t.Errorf("kv-0 was not recreated on another node: uid %s (was %s), node %s", moved.UID, primary.UID, moved.Spec.NodeName)
	}
	if len(failedOver.Fencing) != 1 || failedOver.Fencing[0].State != v1alpha1.FencingConfirmed || !failedOver.Fencing[0].Tainted {
		t.Errorf("fencing records %+v, want %s confirmed and tainted", failedOver.Fencing, node)
	}
	checkTaint(t, c, node, true)

	if err := clustertest.Cluster().RestartHeartbeat(context.Background(), node); err != nil {
		t.Fatal(err)
	}
	e2eutil.WaitReplication(t, c, r, 2*time.Minute, "fencing record gone", func(st *v1alpha1.ReplicationStatus) bool {
		return len(st.Fencing) == 0
	})
	checkTaint(t, c, node, false)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.asked) < 3 || f.asked[0].Node != node || !slices.Equal(f.asked[0].Members, []string{"kv-0"}) {
		t.Errorf("the webhook was asked %+v, want %s with kv-0, refused twice then confirmed", f.asked, node)
	}
}

func checkTaint(t *testing.T, c client.Client, name string, want bool) {
	t.Helper()
	var node corev1.Node
	if err := c.Get(context.Background(), client.ObjectKey{Name: name}, &node); err != nil {
		t.Fatal(err)
	}
	got := slices.ContainsFunc(node.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeOutOfService })
	if got != want {
		t.Errorf("node %s out-of-service taint %t, want %t: %v", name, got, want, node.Spec.Taints)
	}
}
