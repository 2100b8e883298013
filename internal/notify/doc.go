// Package notify tells Slack channels and webhooks about rollouts, without
// ever holding up reconciliation.
//
// # What is sent
//
// Slack: one message per rollout of a revision, posted when the rollout
// starts and updated in place (chat.update) as it moves: rollout, cluster,
// old → new image, step n/N, a progress bar and the batch in flight. Notable
// events are replies in the message's thread: Paused, Failed (degraded),
// RollbackStarted, RolledBack (aborted) and Completed.
//
// Webhooks: a signed JSON Payload (schema SchemaVersion) for Started,
// StepCompleted, Paused, RollbackStarted, Completed, Failed and RolledBack,
// filtered by the target's events, in order, retried with exponential backoff, each with an
// idempotency key that stays the same across retries and restarts.
//
// # How the controller calls it
//
//	d := notify.NewDispatcher(notify.ClientSecretReader(mgr.GetAPIReader()), notify.Options{
//		Cluster: clusterName, AllowedHosts: hosts, Registerer: metrics.Registry,
//	})
//	mgr.Add(d) // Start: the workers, on the leader
//	builder.WatchesRawSource(source.Channel(d.Delivered(), &handler.TypedEnqueueRequestForObject[*v1alpha1.StatefulSetRollout]{}))
//
// In Reconcile, with old the status as read and the planned status in
// rollout.Status:
//
//  1. rollout.Status.Notifications = d.Record(key, old.Notifications)
//     merges what was delivered since the last reconcile (the Slack
//     message's ts, terminal events acknowledged). Delivered() yields the
//     rollout whenever that changes, so this runs soon after a delivery.
//  2. Write the status.
//  3. Only if the write succeeded: d.Notify(notify.NewReport(rollout, old,
//     now)) with OldImages, FromImages and InFlight (the planner's
//     plan.View.InFlight) filled in. Notify never blocks. Call
//     it on every reconcile, not only on changes: after a restart the first
//     report is how the dispatcher learns what was recorded.
//  4. When the rollout is gone: d.Forget(key).
//
// # Who may be told, with which Secret
//
// A Secret is read only when its owner labelled it
// sroll.dev/notification-secret=true (ClientSecretReader), and a target is
// called only when its host is in Options.AllowedHosts (checked before any
// Secret is read, redirects included). A refused target hears nothing; its
// entry in status.notifications says why (Refused, Message) until an
// attempt gets past the checks, and the controller records a
// NotificationRefused Warning event when that appears.
//
// # Coalescing and limits
//
// Per rollout and target, Notify appends to a backlog: the latest state for
// the Slack message, replacing a pending older state (latest state wins),
// and one item per event. The work queue holds each rollout-target pair at
// most once, so it is bounded by the number of pairs (Options.MaxStreams),
// and each backlog by Options.MaxPending. Workers never wait: a call that
// Slack's limits (see limiter.go) do not allow yet is put back with a delay,
// and a 429's Retry-After closes the channel or workspace for that long.
// Slack therefore sees at most one chat.update per UpdateInterval per
// workspace (and at most one per distinct state of the message), however
// many reports a rollout produces.
//
// # At least once, across restarts
//
// status.notifications records per target the attempt it is told about,
// from the moment the attempt is announced, before anything is delivered
// (Revision holds status.templateHash: the StatefulSet revisions change
// during a rollback; StartedAt and Retry hold status.startedAt and the last
// retry request handled, which tell a retry from the attempt before it),
// the stable revision the attempt started from (FromRevision), the Slack
// message (SlackTS, SlackChannel) and the last terminal event it
// acknowledged for that attempt (Delivered). A retry keeps the Slack
// message, a template's, and starts Delivered over. A dispatcher that has
// not seen a rollout yet starts from that record: it updates the recorded
// Slack message instead of posting a new one, and if the rollout's phase
// implies a terminal event (Completed → Completed, Degraded → Failed,
// Aborted → RolledBack) of the recorded attempt that the target was to
// hear of but did not acknowledge, it delivers it once more (also to a
// webhook that asks for terminal events only and so heard nothing before
// the end). Such an event shows the old revision and images of
// FromRevision (the controller decodes them from the StatefulSet's history;
// none once the history dropped it): once a rollout completed, both of the
// status's revisions are the new one. Webhook receivers drop a duplicate by
// its idempotency key. Other events are sent at most once: one pending when
// the operator stops is lost. A record without StartedAt, written by an
// operator that did not record attempts, is taken for the template's
// current attempt.
package notify
