package notify

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Target kinds, the value of the "kind" label.
const (
	kindSlack   = "slack"
	kindWebhook = "webhook"
)

// metrics count what happened to notifications, per target kind.
type metrics struct {
	// sent counts successful calls: Slack posts, updates and replies, webhook deliveries.
	sent *prometheus.CounterVec
	// coalesced counts Slack states replaced by a newer one before they were sent.
	coalesced *prometheus.CounterVec
	// dropped counts notifications given up without being delivered: queue
	// or backlog overflow, permanent errors, retries exhausted, target removed.
	dropped *prometheus.CounterVec
	// failed counts failed attempts, each retry included.
	failed *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	counter := func(name, help string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sroll", Subsystem: "notify", Name: name, Help: help,
		}, []string{"kind"})
		if reg == nil {
			return c
		}
		if err := reg.Register(c); err != nil {
			// A second dispatcher in the same process shares the counters.
			if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
				return are.ExistingCollector.(*prometheus.CounterVec)
			}
			panic(err)
		}
		return c
	}
	return &metrics{
		sent:      counter("sent_total", "Notification calls that succeeded (Slack posts, updates, replies; webhook deliveries)."),
		coalesced: counter("coalesced_total", "Slack message states replaced by a newer state before they were sent."),
		dropped:   counter("dropped_total", "Notifications given up without delivery (overflow, permanent error, retries exhausted, target removed)."),
		failed:    counter("failed_total", "Notification attempts that failed, retries included."),
	}
}
