package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// deadlineRecorder is a ResponseWriter that records the write deadlines a
// stream sets.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	return nil
}

// A stream keeps a write deadline 9 to 10 s ahead of every write, moving it
// at most once a second rather than on every event.
func TestStreamWriteDeadline(t *testing.T) {
	w := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	s := newStream(w)
	require.Equal(t, http.StatusOK, w.Code)
	for range 100 {
		require.NoError(t, s.comment("x"))
		require.GreaterOrEqual(t, time.Until(s.deadline), streamWriteTimeout-time.Second-100*time.Millisecond)
	}
	require.Len(t, w.deadlines, 1, "one deadline for a burst of writes")
	require.Equal(t, s.deadline, w.deadlines[0])

	// Once the deadline is nearer than 9 s (time has passed), the next write
	// moves it to 10 s ahead.
	s.deadline = time.Now().Add(streamWriteTimeout - 2*time.Second)
	require.NoError(t, s.comment("y"))
	require.Len(t, w.deadlines, 2)
	require.Greater(t, time.Until(w.deadlines[1]), streamWriteTimeout-time.Second)
	require.Equal(t, 101, countComments(w.Body.String()))
}

func countComments(body string) (n int) {
	for i := 0; i+1 < len(body); i++ {
		if body[i] == ':' && (i == 0 || body[i-1] == '\n') {
			n++
		}
	}
	return n
}
