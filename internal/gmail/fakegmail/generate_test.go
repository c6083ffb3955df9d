package fakegmail

import (
	"bytes"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	a := Generate(42, 3000, GenerateOptions{})
	b := Generate(42, 3000, GenerateOptions{})
	c := Generate(43, 3000, GenerateOptions{})

	idsA := a.MessageIDs()
	require.Len(t, idsA, 3000)
	require.Equal(t, idsA, b.MessageIDs())
	require.NotEqual(t, idsA, c.MessageIDs())
	require.Equal(t, a.HistoryID(), b.HistoryID())

	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for i, id := range idsA {
		require.Regexp(t, hex16, id)
		if i%97 != 0 {
			continue
		}
		ma, mb := a.msgs[mustID(t, id)], b.msgs[mustID(t, id)]
		require.Equal(t, ma.labels, mb.labels)
		require.Equal(t, ma.threadID, mb.threadID)
		require.Equal(t, a.raw(ma), b.raw(mb), "raw content of %s", id)
		// Rendering twice gives the same bytes (content is derived, not stored).
		require.True(t, bytes.Equal(a.raw(ma), a.raw(ma)))
	}
}

func mustID(t *testing.T, s string) uint64 {
	t.Helper()
	n, ok := parseID(s)
	require.True(t, ok)
	return n
}

func TestGenerateIsRealistic(t *testing.T) {
	t.Parallel()
	mb := Generate(7, 5000, GenerateOptions{})
	require.Equal(t, 5000, mb.MessageCount())

	for _, l := range []string{"INBOX", "UNREAD", "STARRED", "IMPORTANT", "SENT", "SPAM", "TRASH",
		"CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS", "CATEGORY_UPDATES", "CATEGORY_FORUMS"} {
		require.Positive(t, mb.CountLabel(l), l)
	}
	require.Less(t, mb.CountLabel("STARRED"), mb.CountLabel("UNREAD"))
	work, ok := mb.LabelID("Work")
	require.True(t, ok)
	require.Positive(t, mb.CountLabel(work))

	// Threads: several messages share the first message's id as threadId.
	threads := map[string][]string{}
	for _, id := range mb.MessageIDs() {
		tid, err := mb.ThreadID(id)
		require.NoError(t, err)
		threads[tid] = append(threads[tid], id)
	}
	multi := 0
	for tid, ids := range threads {
		if len(ids) > 1 {
			multi++
			require.Equal(t, tid, ids[len(ids)-1], "the oldest message starts the thread")
		}
	}
	require.Greater(t, multi, 50)

	// Dates spread over several years.
	mb.mu.RLock()
	newest, oldest := mb.order[0].date, mb.order[len(mb.order)-1].date
	mb.mu.RUnlock()
	require.Greater(t, time.Duration(newest-oldest)*time.Millisecond, 3*365*24*time.Hour)

	var newsletters, oneClick, auth, attachments, listID int
	for _, id := range mb.MessageIDs() {
		m := mb.msgs[mustID(t, id)]
		hs := mb.gen.content(m).headers
		if headerValue(hs, "List-Unsubscribe") != "" && m.labels.has(lblPromotions) {
			newsletters++
			require.Contains(t, headerValue(hs, "List-Unsubscribe"), "https://")
		}
		if headerValue(hs, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click" {
			oneClick++
		}
		if headerValue(hs, "List-Id") != "" {
			listID++
		}
		if strings.Contains(headerValue(hs, "Authentication-Results"), "dkim=") {
			auth++
		}
		if m.gen.attachment {
			attachments++
		}
	}
	require.Greater(t, newsletters, 500)
	require.Positive(t, oneClick)
	require.Positive(t, listID)
	require.Greater(t, auth, 2500)
	require.Less(t, auth, 5000, "some messages have no Authentication-Results")
	require.Positive(t, attachments)
	require.Less(t, attachments, 500, "only a few attachments")
}

func BenchmarkGenerate100k(b *testing.B) {
	b.ReportAllocs()
	var mb *Mailbox
	for b.Loop() {
		mb = Generate(1, 100000, GenerateOptions{})
	}
	b.StopTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-heap-MiB")
	runtime.KeepAlive(mb)
}
