package render

import (
	"strings"
	"unicode/utf8"
)

// Options change how the screen is drawn, not what it says.
type Options struct {
	// Color adds ANSI colours; only for a terminal.
	Color bool
}

// colour is an ANSI SGR code.
type colour string

const (
	plain  colour = ""
	green  colour = "32"
	yellow colour = "33"
	red    colour = "31"
	cyan   colour = "36"
	faint  colour = "2"
	bold   colour = "1"
)

// paint wraps text in a colour when colours are on.
func (o Options) paint(c colour, text string) string {
	if !o.Color || c == plain || text == "" {
		return text
	}
	return "\x1b[" + string(c) + "m" + text + "\x1b[0m"
}

// phaseColour says at a glance whether a rollout needs a human.
func phaseColour(phase string) colour {
	switch phase {
	case "Completed":
		return green
	case "Progressing", "Paused":
		return yellow
	case "Degraded", "Aborted", "RollingBack":
		return red
	}
	return plain
}

// cell is one table cell: its text decides the column width, its colour
// is added afterwards so escape codes never shift the columns.
type cell struct {
	text   string
	colour colour
}

// table writes rows with columns padded to their widest cell, two spaces
// apart, each line indented. The last column is not padded.
func (o Options) table(b *strings.Builder, indent string, rows [][]cell) {
	var widths []int
	for _, row := range rows {
		for i, c := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	for _, row := range rows {
		var line strings.Builder
		line.WriteString(indent)
		for i, c := range row {
			line.WriteString(o.paint(c.colour, c.text))
			if i < len(row)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.text)+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
}
