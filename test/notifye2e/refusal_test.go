package notifye2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/controller"
	"github.com/sroll-dev/sroll/internal/notify/slacktest"
	"github.com/sroll-dev/sroll/internal/notify/webhooktest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// An author who may create rollouts but not read Secrets names a Secret
// whose owner did not opt it in, in targets pointing at servers of the
// author's own: the operator sends nothing there, says why in
// status.notifications and a Warning event per target, and the rollout
// completes all the same. Once the owner labels the Secret, the targets
// hear the rollout's end, and the refusal is gone.
func TestSecretNotOptedInIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	startOperator(t, e.ns)
	const value = "the-value-the-author-may-not-read"
	secret := e.secret("db-admin", map[string]string{"token": value}, false)
	slack, hook := slacktest.NewServer(), webhooktest.NewReceiver("", value)
	t.Cleanup(slack.Close)
	t.Cleanup(hook.Close)
	ref := v1alpha1.SecretKeyRef{Name: secret.Name, Key: "token"}
	r := e2eutil.NewRollout(e.ns, "kv", 3, intstr.FromInt32(1))
	r.Spec.Notifications = []v1alpha1.NotificationTarget{
		{Name: slackTargetName, Slack: &v1alpha1.SlackTarget{Channel: "#loot", APIURL: slack.URL(), TokenSecretRef: ref}},
		{Name: hookTargetName, Webhook: &v1alpha1.WebhookTarget{WebhookEndpoint: v1alpha1.WebhookEndpoint{URL: hook.URL(), BearerTokenSecretRef: &ref}}},
	}
	if err := e.c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	e.waitCompleted(r, 2*time.Minute)
	e.setImage(r, "v2")

	e.waitRefused(r, v1alpha1.RefusedSecretNotOptedIn, e.ns+"/db-admin", v1alpha1.LabelNotificationSecret+"=true")
	e.waitCompleted(r, 2*time.Minute)
	if calls, requests := slack.Calls(), hook.Requests(); len(calls) != 0 || len(requests) != 0 {
		t.Fatalf("the author's servers heard from the operator: %d Slack calls, %d webhook requests", len(calls), len(requests))
	}

	// The owner opts the Secret in: the same targets now get it, which
	// shows the servers would have seen it.
	e2eutil.Patch(t, e.c, secret, `{"metadata":{"labels":{"`+v1alpha1.LabelNotificationSecret+`":"true"}}}`)
	e.eventually(2*time.Minute, "the end delivered with the opted-in Secret", func() (bool, string) {
		calls := slack.Calls()
		slackGot := slices.ContainsFunc(calls, func(c slacktest.Call) bool { return c.Token == value && c.Error == "" })
		hookGot := slices.ContainsFunc(hook.Deliveries(), func(d webhooktest.Delivery) bool { return d.Payload.Event == v1alpha1.EventCompleted })
		return slackGot && hookGot, e2eutil.Describe(e.get(r))
	})
	e2eutil.WaitRollout(t, e.c, r, time.Minute, "refusals cleared", func(got *v1alpha1.StatefulSetRollout) bool {
		return !slices.ContainsFunc(got.Status.Notifications, func(n v1alpha1.NotificationStatus) bool { return n.Refused != "" })
	})
}

// With --allowed-hosts naming other hosts, targets at 127.0.0.1 are refused
// before any Secret is read, even with Secrets their owner opted in: the
// servers hear nothing, the status and a Warning event say why, and the
// rollout completes.
func TestHostNotAllowedIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	startOperator(t, e.ns, "--allowed-hosts=hooks.example.com,*.slack.com")
	r := e.rollout("kv", 3, intstr.FromInt32(1))
	e.create(r)
	e.setImage(r, "v2")

	e.waitRefused(r, v1alpha1.RefusedHostNotAllowed, `"127.0.0.1"`, "hooks.example.com,*.slack.com")
	e.waitCompleted(r, 2*time.Minute)
	if calls, requests := e.slack.Calls(), e.hook.Requests(); len(calls) != 0 || len(requests) != 0 {
		t.Fatalf("hosts outside --allowed-hosts heard from the operator: %d Slack calls, %d webhook requests", len(calls), len(requests))
	}
}

// waitRefused waits until status.notifications says both targets are
// refused for reason, with a message naming each of what, and a
// NotificationRefused Warning event says so for each.
func (e *env) waitRefused(r *v1alpha1.StatefulSetRollout, reason v1alpha1.NotificationRefusal, what ...string) {
	e.t.Helper()
	got := e2eutil.WaitRollout(e.t, e.c, r, time.Minute, "both targets refused: "+string(reason), func(got *v1alpha1.StatefulSetRollout) bool {
		for _, target := range []string{slackTargetName, hookTargetName} {
			n := recorded(got, target)
			if n.Refused != reason || !e2eutil.ContainsAll(n.Message, what) {
				return false
			}
		}
		return true
	})
	for _, target := range []string{slackTargetName, hookTargetName} {
		e2eutil.WaitEvent(e.t, e.c, got, controller.ReasonNotificationRefused, 30*time.Second, "target "+target, string(reason))
	}
}
