package notify_test

import (
	"context"
	"testing"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/internal/notify"
)

// A target whose Secret its owner did not opt in, and a target outside the
// allowed hosts, are refused: their servers hear nothing, Record says why
// for each, and the refusal clears once the cause is fixed.
func TestRefusedTargets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secrets := fake.NewClientBuilder().WithObjects(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: "slack"},
			Data: map[string][]byte{"token": []byte(slackToken)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: "hooks",
			Labels: map[string]string{v1alpha1.LabelNotificationSecret: "true"}},
			Data: map[string][]byte{"signing-key": []byte(signingKey), "token": []byte(bearer)}},
	).Build()
	d := notify.NewDispatcher(notify.ClientSecretReader(secrets), notify.Options{
		AllowedHosts: egress.MustParseHosts("hooks.example.com"), InitialBackoff: postInterval, MaxBackoff: updateInterval,
		PostInterval: postInterval, UpdateInterval: updateInterval, Registerer: e.reg, Log: testr.New(t),
	})
	stop := start(t, d)
	r := newRollout(t, d, e.targets())
	r.begin()
	eventually(t, "both targets are refused", func() bool {
		got := d.Record(key, nil)
		return len(got) == 2 && got[0].Refused != "" && got[1].Refused != ""
	})
	got := d.Record(key, nil)
	if got[0].Target != "release-system" || got[0].Refused != v1alpha1.RefusedHostNotAllowed {
		t.Errorf("webhook target record = %+v, want refused: %s", got[0], v1alpha1.RefusedHostNotAllowed)
	}
	if got[1].Target != "releases" || got[1].Refused != v1alpha1.RefusedHostNotAllowed {
		// The host is checked first: the Slack server is on 127.0.0.1 too.
		t.Errorf("Slack target record = %+v, want refused: %s", got[1], v1alpha1.RefusedHostNotAllowed)
	}
	if calls, requests := e.slack.Calls(), e.hook.Requests(); len(calls) != 0 || len(requests) != 0 {
		t.Fatalf("refused targets were called: %d Slack calls, %d webhook requests", len(calls), len(requests))
	}

	// The admin allows 127.0.0.1 (a restarted operator): the webhook goes
	// out, the Slack token is still refused, its owner not having opted in.
	stop()
	d = notify.NewDispatcher(notify.ClientSecretReader(secrets), notify.Options{
		AllowedHosts: localhost, InitialBackoff: postInterval, MaxBackoff: updateInterval,
		PostInterval: postInterval, UpdateInterval: updateInterval, Log: testr.New(t),
	})
	start(t, d)
	r.d = d
	r.updateTo(20)
	r.step(v1alpha1.PhaseProgressing, "updating step 2/4")
	eventually(t, "the webhook delivers, the Slack target is refused", func() bool {
		got := d.Record(key, r.obj.Status.Notifications)
		return len(e.hook.Deliveries()) == 1 && len(got) == 2 && got[0].Refused == "" && got[1].Refused == v1alpha1.RefusedSecretNotOptedIn
	})
	if msg := d.Record(key, nil)[1].Message; msg != `Secret db/slack is not labelled sroll.dev/notification-secret=true: its owner must add the label before notifications may use it` {
		t.Errorf("Slack refusal message = %q", msg)
	}
	if calls := e.slack.Calls(); len(calls) != 0 {
		t.Fatalf("%d Slack calls with a Secret not opted in", len(calls))
	}

	// The owner opts the Secret in: the message is posted, the refusal gone.
	var secret corev1.Secret
	ctx := context.Background()
	if err := secrets.Get(ctx, types.NamespacedName{Namespace: key.Namespace, Name: "slack"}, &secret); err != nil {
		t.Fatal(err)
	}
	secret.Labels = map[string]string{v1alpha1.LabelNotificationSecret: "true"}
	if err := secrets.Update(ctx, &secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Slack message is posted and the refusal cleared", func() bool {
		got := d.Record(key, nil)
		return len(e.slack.Messages()) == 1 && len(got) == 2 && got[1].Refused == "" && got[1].Message == ""
	})
}
