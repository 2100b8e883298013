package snapshote2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/internal/notify/slacktest"
	"github.com/sroll-dev/sroll/internal/notify/webhooktest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// The set a rollout waits for is announced where the rollout is: a reply
// in the rollout's Slack thread naming the set, before the Completed one,
// and a signed SnapshotReady webhook event carrying the set (its name,
// reason, revision and volume count), before Started. A Slack server
// speaking the Web API (slack-go's calls) and a webhook receiver checking
// signatures and bearer tokens stand in for Slack and a release system.
func TestSnapshotSetEndIsNotified(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	slack := slacktest.NewServer()
	t.Cleanup(slack.Close)
	slack.RequireToken("xoxb-test")
	hook := webhooktest.NewReceiver("signing-key", "bearer-token")
	t.Cleanup(hook.Close)
	for name, data := range map[string]map[string]string{
		"slack": {"token": "xoxb-test"},
		"hooks": {"signing-key": "signing-key", "token": "bearer-token"},
	} {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{v1alpha1.LabelNotificationSecret: "true"}}, StringData: data}
		if err := c.Create(context.Background(), secret); err != nil {
			t.Fatal(err)
		}
	}
	e2eutil.StartOperator(t, ns, "--allowed-hosts=127.0.0.1")
	const replicas = 3
	r := newRollout(ns, replicas, v1alpha1.SnapshotSpec{BeforeRollout: true})
	r.Spec.Notifications = []v1alpha1.NotificationTarget{
		{Name: "releases", Slack: &v1alpha1.SlackTarget{Channel: "#releases", APIURL: slack.URL(),
			TokenSecretRef: v1alpha1.SecretKeyRef{Name: "slack", Key: "token"}}},
		{Name: "release-system", Webhook: &v1alpha1.WebhookTarget{WebhookEndpoint: v1alpha1.WebhookEndpoint{
			URL:                  hook.URL(),
			SigningKeySecretRef:  &v1alpha1.SecretKeyRef{Name: "hooks", Key: "signing-key"},
			BearerTokenSecretRef: &v1alpha1.SecretKeyRef{Name: "hooks", Key: "token"},
		}}},
	}
	createCompleted(t, c, r)
	stable := e2eutil.GetRollout(t, c, r).Status.StableRevision

	e2eutil.SetImage(t, c, r, "v2")
	name := beforeRolloutSet(t, c, r)
	e2eutil.WaitCompleted(t, c, r, 3*time.Minute)

	var deliveries []webhooktest.Delivery
	e2eutil.Eventually(t, 30*time.Second, "SnapshotReady and Completed delivered", func() (bool, string) {
		deliveries = hook.Deliveries()
		return slices.ContainsFunc(deliveries, delivered(v1alpha1.EventSnapshotReady)) &&
			slices.ContainsFunc(deliveries, delivered(v1alpha1.EventCompleted)), fmt.Sprint(eventsOf(deliveries))
	})
	ready := slices.IndexFunc(deliveries, delivered(v1alpha1.EventSnapshotReady))
	if started := slices.IndexFunc(deliveries, delivered(v1alpha1.EventStarted)); started >= 0 && started < ready {
		t.Errorf("webhook events %v: Started before SnapshotReady, though no pod moved before the set was Ready", eventsOf(deliveries))
	}
	want := v1alpha1.SnapshotBeforeRollout
	if got := deliveries[ready].Payload.Snapshot; got == nil || got.Name != name || got.Reason != want || got.Revision != stable || got.Volumes != replicas {
		t.Errorf("SnapshotReady carries set %+v, want %s (%s) of revision %s with %d volumes", got, name, want, stable, replicas)
	}
	if n := strings.Count(fmt.Sprint(eventsOf(deliveries)), string(v1alpha1.EventSnapshotReady)); n != 1 {
		t.Errorf("SnapshotReady delivered %d times, want once: %v", n, eventsOf(deliveries))
	}

	var replies []string
	e2eutil.Eventually(t, 30*time.Second, "Slack thread with the set and the end", func() (bool, string) {
		messages := slack.Messages()
		if len(messages) != 1 {
			return false, fmt.Sprintf("%d messages", len(messages))
		}
		replies = nil
		for _, reply := range messages[0].Replies {
			replies = append(replies, reply.Text)
		}
		return len(replies) >= 2 && strings.Contains(replies[len(replies)-1], "*Completed*"), fmt.Sprint(replies)
	})
	if !strings.Contains(replies[0], "*Snapshot set ready*") || !strings.Contains(replies[0], name) ||
		!strings.Contains(replies[0], fmt.Sprintf("%d volume snapshots", replicas)) {
		t.Errorf("first thread reply %q, want the set %s ready with its %d volume snapshots", replies[0], name, replicas)
	}
}

func delivered(event v1alpha1.NotificationEvent) func(webhooktest.Delivery) bool {
	return func(d webhooktest.Delivery) bool { return d.Payload.Event == event }
}

func eventsOf(deliveries []webhooktest.Delivery) []v1alpha1.NotificationEvent {
	var out []v1alpha1.NotificationEvent
	for _, d := range deliveries {
		out = append(out, d.Payload.Event)
	}
	return out
}
