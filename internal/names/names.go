// Package names keeps a list of names (pods, mostly) readable at any size,
// the same way in status messages, events, notifications and the plugin.
package names

import (
	"fmt"
	"strings"
)

// Shown is how many names a summary lists before "and N more": enough to
// find the pods to look at, short enough for a status line or a Slack message.
const Shown = 5

// Summary lists the first Shown names in the order given and counts the
// rest: "kv-9, kv-8, kv-7, kv-6, kv-5 and 95 more". Callers choose the order
// (by ordinal, by name) because it is part of what they say.
func Summary(list []string) string {
	if len(list) <= Shown {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(list[:Shown], ", "), len(list)-Shown)
}
