package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/cluster"
	"github.com/inboxq/inboxq/internal/gmail/fakegmail"
)

// Quality is how well clusters match the truth they are measured against.
type Quality struct {
	Purity, Completeness float64 // weighted by cluster / truth group size
	Clustered            float64 // share of messages in a cluster
	Clusters             int
}

// measure scores clusters against truth (message id → generating key).
func measure(clusters []cluster.Cluster, truth map[string]string, total int) Quality {
	var q Quality
	inCluster := 0
	pure := 0
	best := map[string]map[int]int{} // truth → cluster index → messages
	for ci, c := range clusters {
		counts := map[string]int{}
		for _, id := range c.Members {
			if _, ok := truth[id]; !ok {
				panic("a message of the owner's in a cluster: " + id)
			}
			counts[truth[id]]++
			if best[truth[id]] == nil {
				best[truth[id]] = map[int]int{}
			}
			best[truth[id]][ci]++
		}
		most := 0
		for _, n := range counts {
			most = max(most, n)
		}
		pure += most
		inCluster += len(c.Members)
	}
	sizes := map[string]int{}
	for _, k := range truth {
		sizes[k]++
	}
	complete, counted := 0, 0
	for k, byCluster := range best {
		most := 0
		for _, n := range byCluster {
			most = max(most, n)
		}
		complete += most
		counted += sizes[k]
	}
	q.Purity = float64(pure) / float64(max(inCluster, 1))
	q.Completeness = float64(complete) / float64(max(counted, 1))
	q.Clustered = float64(inCluster) / float64(total)
	q.Clusters = len(clusters)
	return q
}

func build(gen []fakegmail.Generated) []cluster.Cluster {
	b := cluster.NewBuilder("me@example.com")
	for _, g := range gen {
		b.Add(cluster.Message{ID: g.ID, From: g.From, Subject: g.Subject, Date: g.Date, Unread: g.Unread})
	}
	return b.Clusters()
}

// TestClustersMatchTheGeneratingSenders measures clusters of generated
// mailboxes against the correspondent that generated each message (spam:
// its campaign, the sender name its throwaway domains share).
func TestClustersMatchTheGeneratingSenders(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2000, 20000} {
		gen := fakegmail.Generate(11, n, fakegmail.GenerateOptions{}).Generated()
		require.Len(t, gen, n)
		truth := map[string]string{}
		bulk := map[string]string{}
		own := 0
		for _, g := range gen {
			if g.Sender == "me@example.com" {
				own++
				continue
			}
			truth[g.ID] = g.Sender
			if g.Kind != "person" && g.Sender != "me@example.com" {
				bulk[g.ID] = g.Sender
			}
		}
		clusters := build(gen)
		q := measure(clusters, truth, n-own)
		t.Logf("%d messages: %d clusters, purity %.3f, completeness %.3f, clustered %.3f", n, q.Clusters, q.Purity, q.Completeness, q.Clustered)
		require.GreaterOrEqual(t, q.Purity, 0.9)
		var bulkClusters []cluster.Cluster
		for _, c := range clusters {
			var ms []string
			for _, id := range c.Members {
				if _, ok := bulk[id]; ok {
					ms = append(ms, id)
				}
			}
			if len(ms) > 0 {
				c.Members = ms
				bulkClusters = append(bulkClusters, c)
			}
		}
		qb := measure(bulkClusters, bulk, len(bulk))
		t.Logf("%d messages, bulk senders only (%d messages): purity %.3f, completeness %.3f, clustered %.3f", n, len(bulk), qb.Purity, qb.Completeness, qb.Clustered)
		require.GreaterOrEqual(t, qb.Clustered, 0.9)

		// A finer truth: a service's notifications of one kind (its
		// sender and subject template) belong together, apart from its
		// other kinds; everything else by sender.
		kinds := map[string]string{}
		for id, sender := range truth {
			kinds[id] = sender
		}
		for _, g := range gen {
			if g.Kind == "notice" && g.Sender != "me@example.com" {
				kinds[g.ID] = fmt.Sprintf("%s|%d", g.Sender, g.Template)
			}
		}
		qk := measure(clusters, kinds, n-own)
		t.Logf("%d messages against sender, notifications by sender and template: purity %.3f, completeness %.3f", n, qk.Purity, qk.Completeness)
		require.GreaterOrEqual(t, qk.Purity, 0.9)
		require.GreaterOrEqual(t, qk.Completeness, 0.9)
		byKind := map[string][2]int{} // kind → clusters, senders
		kindOf := map[string]string{}
		for _, g := range gen {
			kindOf[g.ID] = g.Kind
		}
		senders := map[string]map[string]bool{}
		for _, c := range clusters {
			k := kindOf[c.Members[0]]
			v := byKind[k]
			v[0]++
			byKind[k] = v
			if senders[k] == nil {
				senders[k] = map[string]bool{}
			}
			senders[k][c.Sender] = true
		}
		for k, v := range byKind {
			t.Logf("  %s: %d clusters of %d senders", k, v[0], len(senders[k]))
		}
	}
}

func TestIDsAreStableAndLabelsReadable(t *testing.T) {
	t.Parallel()
	gen := fakegmail.Generate(5, 3000, fakegmail.GenerateOptions{}).Generated()
	a := build(gen)
	// The same mail in another order, and with a tenth more: the clusters
	// that persist keep their ids.
	rev := make([]fakegmail.Generated, len(gen))
	for i, g := range gen {
		rev[len(gen)-1-i] = g
	}
	require.Equal(t, a, build(rev))
	b := build(gen[300:]) // the newest tenth is new mail

	ids := map[string]bool{}
	for _, c := range b {
		ids[c.ID] = true
	}
	kept := 0
	for _, c := range a {
		if ids[c.ID] {
			kept++
		}
	}
	t.Logf("%d of %d clusters kept their id when a tenth of the mail is new", kept, len(a))
	require.Greater(t, kept*10, len(a)*8)
	for _, c := range a[:5] {
		require.NotEmpty(t, c.Label)
		require.False(t, c.First.After(c.Last))
		t.Logf("%s: %d messages, %s to %s, %d unread (%s)", c.Label, c.Size(), c.First.Format(time.DateOnly), c.Last.Format(time.DateOnly), c.Unread, c.Key)
	}
}

func TestTemplateMasksWhatVaries(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Re: Fwd: Your order #123-4567 has shipped": "your order # has shipped",
		"You have won $250000!":                     "you have won #",
		"Don't miss the Monday sale":                "dont miss the @ sale",
		"[golang-nuts] Re: Help with generics":      "golang nuts re help with generics",
	} {
		require.Equal(t, want, cluster.Template(in), in)
	}
	name, addr := cluster.SplitFrom(`"News Team" <News@Example.COM>`)
	require.Equal(t, "News Team", name)
	require.Equal(t, "news@example.com", addr)
}

func BenchmarkCluster100k(b *testing.B) {
	gen := fakegmail.Generate(1, 100_000, fakegmail.GenerateOptions{}).Generated()
	b.ResetTimer()
	for range b.N {
		c := build(gen)
		if len(c) == 0 {
			b.Fatal("no clusters")
		}
	}
	b.ReportMetric(float64(len(gen))*float64(b.N)/b.Elapsed().Seconds(), "messages/s")
	_ = fmt.Sprint()
}
