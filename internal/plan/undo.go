package plan

import (
	"errors"

	corev1 "k8s.io/api/core/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/history"
)

// undo turns a sroll.dev/undo request into a new spec.template: the template
// of the revision it names, as the user wrote it (without the label sroll
// adds to the StatefulSet's copy). It reports whether there was a request:
// an undo is the whole plan, since the next reconcile sees the new template.
// A request that names no revision of the history is dropped with a
// Warning, so that it does not come back on every reconcile.
func (d *decider) undo() bool {
	value, ok := d.rollout.Annotations[v1alpha1.AnnotationUndo]
	if !ok {
		return false
	}
	d.plan.Undo = &Undo{}
	revision, template, err := d.undoTemplate(value)
	if err != nil {
		d.event(corev1.EventTypeWarning, ReasonUndoFailed, "Undo %q dropped: %v", value, err)
		return true
	}
	d.plan.Undo.Template = template
	d.event(corev1.EventTypeNormal, ReasonUndone, "Set spec.template to the template of revision %s (undo %q)", revision, value)
	return true
}

func (d *decider) undoTemplate(value string) (string, *corev1.PodTemplateSpec, error) {
	sts := d.in.StatefulSet
	if sts == nil {
		return "", nil, errors.New("the StatefulSet does not exist yet, so there is no history")
	}
	name, err := history.UndoTarget(d.in.History, sts.Status.UpdateRevision, value)
	if err != nil {
		return "", nil, err
	}
	template, err := history.Template(history.Find(d.in.History, name))
	if err != nil {
		return "", nil, err
	}
	delete(template.Labels, v1alpha1.LabelRollout)
	return name, template, nil
}
