package jobs

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCountOfSaysCountsForPeople(t *testing.T) {
	t.Parallel()
	require.Equal(t, "1 call", countOf(1, "call"))
	require.Equal(t, "0 messages", countOf(0, "message"))
	require.Equal(t, "2,809 messages", countOf(2809, "message"))
	require.Equal(t, "1,000,000 calls", countOf(1000000, "call"))
	require.Equal(t, "999 calls", countOf(999, "call"))
}
