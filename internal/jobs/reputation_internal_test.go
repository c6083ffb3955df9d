package jobs

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNextBatchBoundsSendersAndMail(t *testing.T) {
	addrs := make([]string, 1200)
	counts := map[string]int64{}
	for i := range addrs {
		addrs[i] = fmt.Sprintf("a%04d@x.example", i)
		counts[addrs[i]] = 1
	}
	// Light senders: reputationBatch at a time.
	require.Len(t, nextBatch(addrs, counts), reputationBatch)
	require.Len(t, nextBatch(addrs[1000:], counts), 200)

	// Heavy senders: cut before the mail passes the bound.
	counts[addrs[0]], counts[addrs[1]], counts[addrs[2]] = 12_000, 8_000, 1
	require.Equal(t, addrs[:2], nextBatch(addrs, counts), "12,000 + 8,000 is the bound")
	counts[addrs[1]] = 8_001
	require.Equal(t, addrs[:1], nextBatch(addrs, counts))

	// A sender with more than the bound alone is a batch of its own.
	counts[addrs[0]] = 3 * reputationBatchMessages
	require.Equal(t, addrs[:1], nextBatch(addrs, counts))

	// Unknown counts (no mail) weigh nothing; nothing left, no batch.
	require.Len(t, nextBatch(addrs[3:], map[string]int64{}), reputationBatch)
	require.Empty(t, nextBatch(nil, counts))
}
