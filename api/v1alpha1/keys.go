package v1alpha1

// Every annotation and label sroll reads or writes, in one place.
const (
	// AnnotationPromote asks to finish the current step (pause or percent) and
	// go to the next. Any new value is one request: kubectl annotate --overwrite.
	AnnotationPromote = "sroll.dev/promote"
	// AnnotationPromoteFull asks to skip every remaining step and pause.
	AnnotationPromoteFull = "sroll.dev/promote-full"
	// AnnotationAbort asks to roll back to the stable revision and stay there.
	AnnotationAbort = "sroll.dev/abort"
	// AnnotationRetry asks an Aborted or Degraded rollout to start again from step 0.
	AnnotationRetry = "sroll.dev/retry"
	// AnnotationUndo asks to set spec.template back to a revision of the
	// history: "previous" or a revision number. The operator rewrites the
	// template and removes the annotation in one update.
	AnnotationUndo = "sroll.dev/undo"

	// AnnotationRestore asks to restore every member's volumes from the
	// snapshot set it names (a RolloutSnapshot of this rollout): a
	// BeforeRestore set of the volumes as they are is taken first. One
	// request per value, like the actions above.
	AnnotationRestore = "sroll.dev/restore"

	// AnnotationTemplateHash on the StatefulSet names the rollout template
	// it carries, so sroll writes the template only when it changed.
	AnnotationTemplateHash = "sroll.dev/template-hash"

	// LabelRollout on the StatefulSet names the StatefulSetRollout that owns it.
	LabelRollout = "sroll.dev/rollout"

	// LabelSnapshotSet on a VolumeSnapshot names the RolloutSnapshot (the
	// snapshot set) it belongs to. LabelRollout on a RolloutSnapshot names
	// its rollout.
	LabelSnapshotSet = "sroll.dev/snapshot-set"

	// LabelNotificationSecret: "true" on a Secret is its owner's consent that
	// notification targets of rollouts in its namespace use it (a Slack
	// token, a webhook's signing key or bearer token). Without it the
	// operator, which can read every Secret it is told to, would send a value
	// the rollout's author may not read to a URL the author chose.
	LabelNotificationSecret = "sroll.dev/notification-secret"
)

// Actions lists the one-shot request annotations the planner acts on.
var Actions = []string{AnnotationPromote, AnnotationPromoteFull, AnnotationAbort, AnnotationRetry, AnnotationRestore}
