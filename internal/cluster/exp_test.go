//go:build experiments

package cluster_test

import (
	"fmt"
	"hash/fnv"
	"strings"
	"testing"
	"time"

	"github.com/inboxq/inboxq/internal/cluster"
	"github.com/inboxq/inboxq/internal/gmail/fakegmail"
)

// TestExperimentMinHash compares MinHash signatures with banded LSH and
// union-find (the suggestion) against the key method, on the same
// generated mailbox and truths: go test -tags experiments -run Experiment -v.
func TestExperimentMinHash(t *testing.T) {
	gen := fakegmail.Generate(11, 20000, fakegmail.GenerateOptions{}).Generated()
	var kept []fakegmail.Generated
	senderTruth, kindTruth := map[string]string{}, map[string]string{}
	for _, g := range gen {
		if g.Sender == "me@example.com" {
			continue
		}
		kept = append(kept, g)
		senderTruth[g.ID] = g.Sender
		kindTruth[g.ID] = g.Sender
		if g.Kind == "notice" {
			kindTruth[g.ID] = fmt.Sprintf("%s|%d", g.Sender, g.Template)
		}
	}
	start := time.Now()
	keys := build(gen)
	t.Logf("keys: %s, %d clusters; sender %+v; kind %+v", time.Since(start).Round(time.Millisecond), len(keys),
		measure(keys, senderTruth, len(kept)), measure(keys, kindTruth, len(kept)))
	for _, cfg := range []struct {
		addrWeight, bands, rows int
		threshold               float64
	}{{4, 16, 4, 0.5}, {8, 16, 4, 0.5}, {8, 32, 2, 0.3}, {16, 32, 2, 0.3}} {
		start := time.Now()
		cs := minhash(kept, cfg.addrWeight, cfg.bands, cfg.rows, cfg.threshold)
		t.Logf("minhash address×%d, %d bands × %d rows, verified ≥ %.1f: %s, %d clusters; sender %+v; kind %+v",
			cfg.addrWeight, cfg.bands, cfg.rows, cfg.threshold, time.Since(start).Round(time.Millisecond), len(cs),
			measure(cs, senderTruth, len(kept)), measure(cs, kindTruth, len(kept)))
	}
}

func minhash(gen []fakegmail.Generated, addrWeight, bands, rows int, threshold float64) []cluster.Cluster {
	k := bands * rows
	sigs := make([][]uint64, len(gen))
	for i, g := range gen {
		_, addr := cluster.SplitFrom(g.From)
		var tokens []string
		for w := range addrWeight {
			tokens = append(tokens, fmt.Sprintf("a%d:%s", w, addr))
		}
		tokens = append(tokens, strings.Fields(cluster.Template(g.Subject))...)
		sig := make([]uint64, k)
		for j := range sig {
			sig[j] = ^uint64(0)
		}
		for _, tok := range tokens {
			h := fnv.New64a()
			h.Write([]byte(tok))
			x := h.Sum64()
			for j := range sig {
				// a cheap family of hashes: x mixed with the seed j
				v := (x ^ (uint64(j+1) * 0x9e3779b97f4a7c15)) * 0xbf58476d1ce4e5b9
				v ^= v >> 31
				sig[j] = min(sig[j], v)
			}
		}
		sigs[i] = sig
	}
	parent := make([]int, len(gen))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	similar := func(a, b int) bool {
		same := 0
		for j := range k {
			if sigs[a][j] == sigs[b][j] {
				same++
			}
		}
		return float64(same)/float64(k) >= threshold
	}
	for b := range bands {
		buckets := map[string]int{}
		for i, sig := range sigs {
			key := fmt.Sprint(sig[b*rows : (b+1)*rows])
			if first, ok := buckets[key]; ok {
				if similar(first, i) {
					parent[find(i)] = find(first)
				}
			} else {
				buckets[key] = i
			}
		}
	}
	groups := map[int][]string{}
	for i, g := range gen {
		r := find(i)
		groups[r] = append(groups[r], g.ID)
	}
	var out []cluster.Cluster
	for _, ids := range groups {
		if len(ids) >= cluster.MinSize {
			out = append(out, cluster.Cluster{Members: ids})
		}
	}
	return out
}
