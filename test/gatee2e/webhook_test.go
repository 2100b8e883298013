package gatee2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// releaseSystem is a webhook check's receiver: it verifies the signature
// on its own (not with sroll's code) and refuses unsigned or wrongly
// signed requests with 401; it answers a signed one with its verdict.
type releaseSystem struct {
	key  string
	pass bool
	srv  *httptest.Server

	mu       sync.Mutex
	signed   int
	unsigned int
	last     map[string]any
}

func startReleaseSystem(t *testing.T, key string, pass bool) *releaseSystem {
	rs := &releaseSystem{key: key, pass: pass}
	rs.srv = httptest.NewServer(http.HandlerFunc(rs.serve))
	t.Cleanup(rs.srv.Close)
	return rs
}

func (rs *releaseSystem) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	mac := hmac.New(sha256.New, []byte(rs.key))
	mac.Write(body)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if !hmac.Equal([]byte(r.Header.Get("X-Sroll-Signature")), []byte("sha256="+hex.EncodeToString(mac.Sum(nil)))) {
		rs.unsigned++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rs.signed++
	_ = json.Unmarshal(body, &rs.last)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"pass": rs.pass, "message": "release frozen by the release system"})
}

// A webhook check whose receiver says no fails its analysis step: the
// request was signed with the opted-in key and described the rollout.
func TestWebhookCheckRefusalFailsTheStep(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns, "--allowed-hosts=127.0.0.1")
	const key = "gate-signing-key"
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gates", Labels: map[string]string{v1alpha1.LabelNotificationSecret: "true"}},
		StringData: map[string]string{"signing-key": key},
	}
	if err := c.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	rs := startReleaseSystem(t, key, false)
	r := e2eutil.NewRollout(ns, "kv", 3, intstr.FromInt32(1), e2eutil.Percent(34),
		v1alpha1.RolloutStep{Analysis: &v1alpha1.Analysis{Checks: []string{"release-system"}, IntervalSeconds: ptr.To[int32](1)}},
		e2eutil.Percent(100))
	r.Spec.Rollout.Checks = []v1alpha1.Check{{Name: "release-system", Webhook: &v1alpha1.WebhookCheck{
		URL: rs.srv.URL + "/gate", SigningKeySecretRef: &v1alpha1.SecretKeyRef{Name: "gates", Key: "signing-key"},
	}}}
	create(t, r)

	e2eutil.SetImage(t, c, r, "v2")
	failed := e2eutil.WaitPhase(t, c, r, v1alpha1.PhaseDegraded, 2*time.Minute)
	if want := []string{"step 2/3 (analysis release-system)", "check release-system failed", "last measured fail"}; !e2eutil.ContainsAll(failed.Status.Message, want) {
		t.Errorf("message %q; want it to contain %q", failed.Status.Message, want)
	}
	if n := len(failed.Status.Analysis); n != 1 || failed.Status.Analysis[0].Measurements[0].Message != "release frozen by the release system" {
		t.Errorf("records %+v; want the one measurement with the receiver's message", failed.Status.Analysis)
	}
	if failed.Status.UpdatedReplicas != 2 {
		t.Errorf("%d pods updated; want the 2 of the first step, and no more", failed.Status.UpdatedReplicas)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.signed != 1 || rs.unsigned != 0 {
		t.Errorf("%d signed and %d unsigned requests; want 1 signed", rs.signed, rs.unsigned)
	}
	if rs.last["rollout"] != "kv" || rs.last["namespace"] != ns || rs.last["updateRevision"] != failed.Status.UpdateRevision || rs.last["check"] != "release-system" {
		t.Errorf("request %v does not describe the rollout", rs.last)
	}
}
