package api

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAttemptErrorIsASentence(t *testing.T) {
	t.Parallel()
	require.Equal(t, "Nothing to add or remove", attemptError("JobCancelError: nothing to add or remove"))
	require.Equal(t, "Gmail said 500", attemptError("gmail said 500"))
	require.Equal(t, "", attemptError(""))
	require.Equal(t, "Élan", attemptError("élan"))
}
