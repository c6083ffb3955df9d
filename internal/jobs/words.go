package jobs

import (
	"strconv"
	"strings"
)

// countOf says a count for people: "1 call", "2,809 messages".
func countOf(n int64, noun string) string {
	digits := strconv.FormatInt(max(n, -n), 10)
	var b strings.Builder
	if n < 0 {
		b.WriteByte('-')
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if n != 1 {
		noun += "s"
	}
	return b.String() + " " + noun
}
