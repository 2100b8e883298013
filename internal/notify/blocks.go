package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/names"
)

const (
	// imagesShown caps the image lines of a pod with many containers.
	imagesShown = 5
	// barWidth is the number of cells of the text progress bar.
	barWidth = 20
	// headerMax is Slack's limit for a header block's text.
	headerMax = 150
	// reasonMax keeps a status message well inside Slack's 3000-character
	// text limit, whatever the planner wrote.
	reasonMax = 500
)

var phaseEmoji = map[v1alpha1.Phase]string{
	v1alpha1.PhaseProgressing: ":arrows_counterclockwise:",
	v1alpha1.PhasePaused:      ":double_vertical_bar:",
	v1alpha1.PhaseCompleted:   ":white_check_mark:",
	v1alpha1.PhaseDegraded:    ":warning:",
	v1alpha1.PhaseRollingBack: ":rewind:",
	v1alpha1.PhaseAborted:     ":x:",
}

// replyTitles are the thread replies, by event; an event without one is
// shown by the message update alone (Started, StepCompleted).
var replyTitles = map[v1alpha1.NotificationEvent]string{
	v1alpha1.EventPaused:         ":double_vertical_bar: *Paused*",
	v1alpha1.EventFailed:         ":warning: *Failed*, rollout degraded",
	EventRollbackStarted:         ":rewind: *Rollback started*",
	v1alpha1.EventRolledBack:     ":x: *Aborted*: rolled back",
	v1alpha1.EventCompleted:      ":white_check_mark: *Completed*",
	v1alpha1.EventSnapshotReady:  ":camera: *Snapshot set ready*",
	v1alpha1.EventSnapshotFailed: ":warning: *Snapshot set failed*",
}

// renderMessage is the rollout's Slack message: a text fallback for
// notifications and the Block Kit layout. The layout holds no clock, so a
// rollout that did not move renders the same and costs no chat.update.
func renderMessage(s Report, cluster string) (string, []slack.Block) {
	title := clip(fmt.Sprintf("%s %s", phaseEmoji[s.Phase], s.Key.Name), headerMax)
	fields := []*slack.TextBlockObject{
		mrkdwn(fmt.Sprintf("*Rollout*\n`%s`", s.Key)),
		mrkdwn(fmt.Sprintf("*Cluster*\n%s", orDash(cluster))),
		mrkdwn(fmt.Sprintf("*Phase*\n%s", orDash(string(s.Phase)))),
		mrkdwn(fmt.Sprintf("*Step*\n%d/%d", s.stepShown(), s.Steps)),
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, true, false)),
		slack.NewSectionBlock(nil, fields, nil),
		slack.NewSectionBlock(mrkdwn("*Image*\n"+imageChange(s.OldImages, s.NewImages)), nil, nil),
		slack.NewSectionBlock(mrkdwn(progress(s)), nil, nil),
	}
	if len(s.InFlight) > 0 {
		batch := fmt.Sprintf("*Batch in flight* (%d): %s", len(s.InFlight), names.Summary(s.InFlight))
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(batch), nil, nil))
	}
	context := fmt.Sprintf("Revision `%s` → `%s`", orDash(s.StableRevision), s.UpdateRevision)
	if !s.StartedAt.IsZero() {
		context += " · started " + slackDate(s.StartedAt)
	}
	if s.Message != "" {
		context += " · " + clip(s.Message, reasonMax)
	}
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn(context)))

	text := fmt.Sprintf("%s on %s: %s, step %d/%d, %d/%d pods updated",
		s.Key, orDash(cluster), s.Phase, s.stepShown(), s.Steps, s.Updated, s.Replicas)
	return text, blocks
}

// renderReply is the thread reply announcing an event.
func renderReply(s Report, e Event) string {
	var b strings.Builder
	b.WriteString(replyTitles[e.Type])
	switch e.Type {
	case v1alpha1.EventCompleted:
		fmt.Fprintf(&b, ": %d/%d pods on `%s`", s.UpdatedReady, s.Replicas, s.UpdateRevision)
		if !s.StartedAt.IsZero() {
			fmt.Fprintf(&b, " in %s", s.Now.Sub(s.StartedAt).Round(time.Second))
		}
	case EventRollbackStarted, v1alpha1.EventRolledBack:
		fmt.Fprintf(&b, " to `%s`", orDash(s.StableRevision))
	case v1alpha1.EventSnapshotReady, v1alpha1.EventSnapshotFailed:
		set := e.Snapshot
		fmt.Fprintf(&b, " `%s` (%s, %d volume snapshots of `%s`)", set.Name, orDash(string(set.Reason)), set.Volumes, orDash(set.Revision))
	default:
		fmt.Fprintf(&b, " at step %d/%d", min(e.Step+1, s.Steps), s.Steps)
	}
	if e.Reason != "" {
		b.WriteString(": " + clip(e.Reason, reasonMax))
	}
	if e.Type == v1alpha1.EventFailed && len(s.InFlight) > 0 {
		fmt.Fprintf(&b, "\nNot ready: %s", names.Summary(s.InFlight))
	}
	return b.String()
}

// progress is a text bar of updated pods, readable in any Slack client.
func progress(s Report) string {
	percent := 0
	if s.Replicas > 0 {
		percent = int(s.Updated * 100 / s.Replicas)
	}
	filled := min(percent*barWidth/100, barWidth)
	bar := strings.Repeat("█", filled) + strings.Repeat("░", barWidth-filled)
	return fmt.Sprintf("`%s` %d%%\n%d/%d updated, %d updated ready, %d ready",
		bar, percent, s.Updated, s.Replicas, s.UpdatedReady, s.Ready)
}

// imageChange pairs old and new images by container position.
func imageChange(old, new []string) string {
	var lines []string
	for i, image := range new {
		if i < len(old) && old[i] != image {
			lines = append(lines, fmt.Sprintf("`%s` → `%s`", old[i], image))
		} else {
			lines = append(lines, fmt.Sprintf("`%s`", image))
		}
	}
	if len(lines) > imagesShown {
		lines = append(lines[:imagesShown], fmt.Sprintf("and %d more", len(lines)-imagesShown))
	}
	return orDash(strings.Join(lines, "\n"))
}

// slackDate shows a time in each reader's time zone, with a UTC fallback.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format(time.RFC3339))
}

func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, false)
}

// clip shortens s to at most max runes, marking the cut.
func clip(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// blocksJSON is what Slack receives, to tell whether an update changes anything.
func blocksJSON(blocks []slack.Block) string {
	b, err := json.Marshal(blocks)
	if err != nil {
		// Blocks are built from plain strings above: marshalling cannot fail.
		panic(err)
	}
	return string(b)
}
