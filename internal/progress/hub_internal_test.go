package progress

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// slowPairs is finalPairs' rule: encoding/json reading each element as
// store.FinalProgress.
func slowPairs(raw string) []*store.FinalProgress {
	var elems []json.RawMessage
	if json.Unmarshal([]byte(raw), &elems) != nil {
		return nil
	}
	ps := make([]*store.FinalProgress, len(elems))
	for i, e := range elems {
		var f store.FinalProgress
		if string(e) != "null" && json.Unmarshal(e, &f) == nil {
			ps[i] = &f
		}
	}
	return ps
}

// The scanner reads the trigger's pairs as encoding/json does, and gives
// up (to encoding/json) on anything else.
func TestFinalPairsReadAsJSONDoes(t *testing.T) {
	for _, raw := range []string{
		`[]`, ` [ ] `, `[null]`, `[[3, 10]]`, `[[3,10],null,[5, null]]`, `[[-1, -2]]`, `[[0, 0]]`,
		`[[999999999999999999, 1]]`, `[[9999999999999999999, 1]]`, `[[01, 1]]`, `[[1.0, 2]]`, `[[1e3, 2]]`,
		`[[1e300, "many"]]`, `[[1, 2, 3]]`, `[[1]]`, `[[null, 1]]`, `[{"done": 1}]`, `[[1, 2]`, `[[1, 2]] x`,
		`[[1, 2],]`, `nul`, `[nul]`, `"x"`, `[[ 7 , 8 ] , null ]`, `[[-0, 1]]`, `[[-, 1]]`,
	} {
		got := finalPairs(json.RawMessage(raw), 4)
		want := slowPairs(raw)
		require.Equal(t, fmt.Sprint(deref(want)), fmt.Sprint(deref(got)), raw)
	}
	_, ok := scanPairs([]byte(`[[3, 10],null,[5, null]]`), 3)
	require.True(t, ok, "the trigger's own form takes the fast path")
	_, ok = scanPairs([]byte(`[[1e300, "many"]]`), 1)
	require.False(t, ok)
}

// A grouped event's ids read as encoding/json reads them: the trigger's
// form on the fast path, anything else through encoding/json, errors
// included.
func TestIDsReadAsJSONDoes(t *testing.T) {
	for _, raw := range []string{
		`[]`, `[1]`, `[12,13,1000000]`, `[0]`, `[999999999999999999]`, `[9223372036854775807]`,
		`[9223372036854775808]`, `[-3]`, `[01]`, `[1.5]`, `[1e3]`, `[ 1 , 2 ]`, `[1,]`, `[,1]`, `[1,,2]`,
		`[1 2]`, `[null]`, `["1"]`, `null`, `[`, `]`, `[1]x`,
	} {
		var want []int64
		wantErr := json.Unmarshal([]byte(raw), &want)
		var got struct {
			IDs idList `json:"ids"`
		}
		err := json.Unmarshal([]byte(`{"ids":`+raw+`}`), &got)
		if wantErr != nil {
			require.Error(t, err, raw)
			continue
		}
		require.NoError(t, err, raw)
		require.Equal(t, want, []int64(got.IDs), raw)
	}
	ids, ok := scanIDs([]byte(`[12,13,1000000]`))
	require.True(t, ok, "the trigger's own form takes the fast path")
	require.Equal(t, []int64{12, 13, 1000000}, ids)
	_, ok = scanIDs([]byte(`[ 1 , 2 ]`))
	require.False(t, ok)
}

func deref(ps []*store.FinalProgress) []string {
	out := []string{}
	for _, p := range ps {
		switch {
		case p == nil:
			out = append(out, "nil")
		case p.Total == nil:
			out = append(out, fmt.Sprintf("%d/-", p.Done))
		default:
			out = append(out, fmt.Sprintf("%d/%d", p.Done, *p.Total))
		}
	}
	return out
}

// BenchmarkParseJobs decodes grouped job events as the trigger writes
// them (ns/job is per id).
func BenchmarkParseJobs(b *testing.B) {
	for _, c := range []struct {
		name  string
		n     int
		pairs bool
	}{{"350-ids", 350, false}, {"100-ids-with-reports", 100, true}} {
		var ids, ps []string
		for i := range c.n {
			ids = append(ids, fmt.Sprint(1_000_000+i))
			ps = append(ps, fmt.Sprintf("[%d, %d]", i, c.n))
		}
		payload := `{"t":"jobs","h":{"state":"completed","kind":"bench_prog","queue":"default","owner":"1","attempt":1,"max_attempts":25,"priority":1,"at":"2026-12-04T22:00:00.123456+00:00"},"ids":[` +
			strings.Join(ids, ",") + "]"
		if c.pairs {
			payload += `,"p":[` + strings.Join(ps, ",") + "]"
		}
		payload += "}"
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if evs, err := parse(payload); err != nil || len(evs) < c.n {
					b.Fatal(err, len(evs))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c.n), "ns/job")
		})
	}
}

// A batch's events get consecutive ids in the hub's form, each its own
// frame.
func TestPublishNumbersABatch(t *testing.T) {
	h := NewHub(nil, nil, nil)
	h.epoch, h.seq = "e7", 98
	evs := []Event{{Task: &TaskChange{}}, {Task: &TaskChange{}}, {Task: &TaskChange{}}}
	h.publish(evs...)
	require.Equal(t, []string{"e7-99", "e7-100", "e7-101"}, []string{evs[0].ID, evs[1].ID, evs[2].ID})
	require.Equal(t, uint64(101), h.seq)
	require.Equal(t, "e7-100", h.ring[100%ringSize].ID)
	require.Equal(t, h.id(101), evs[2].ID)
	require.NotSame(t, evs[0].frame, evs[1].frame)
	n, ok := h.parseID(evs[1].ID)
	require.True(t, ok)
	require.Equal(t, uint64(100), n)
}

// Publish hands each stream exactly the events its filter matches, in
// order, though it looks only at the admins' streams and the owners'
// (TestPublishReachesOwnersAndAdmins checks the index against match); a
// closed or dropped stream leaves the index.
func TestPublishReachesOwnersAndAdmins(t *testing.T) {
	h := NewHub(nil, nil, nil)
	one, two := int64(1), int64(2)
	subscribe := func(f Filter) *Subscription {
		s, _, _, _ := h.Subscribe(f, "")
		return s
	}
	filters := []Filter{
		{Caller: inbox.Principal{Role: inbox.RoleAdmin, UserID: 9}},
		{Caller: inbox.Principal{UserID: 1}},
		{Caller: inbox.Principal{UserID: 1}, TaskID: 12},
		{Caller: inbox.Principal{UserID: 1}, Kinds: []string{"b"}},
		{Caller: inbox.Principal{UserID: 2}, Tokens: []int64{77}},
		{Caller: inbox.Principal{UserID: 3}},
	}
	var subs []*Subscription
	for _, f := range filters {
		subs = append(subs, subscribe(f))
	}
	batches := [][]Event{
		{
			{Task: &TaskChange{ID: 11, Kind: "a", Owner: &one}},
			{Task: &TaskChange{ID: 21, Kind: "b", Owner: &two}},
			{Task: &TaskChange{ID: 12, Kind: "b", Owner: &one}},
			{Task: &TaskChange{ID: 31, Kind: "a"}}, // a system task
			{Progress: &ProgressChange{ID: 12, Kind: "b", Owner: &one}},
			{Alert: &AlertRaised{ID: 1, Owner: &two}},
			{Alert: &AlertRaised{ID: 2}},
			{Workflow: &WorkflowChange{Owner: 1}},
		},
		{{Revoked: &TokenRevoked{ID: 77}}, {Task: &TaskChange{ID: 22, Kind: "a", Owner: &two}}},
	}
	for _, evs := range batches {
		h.publish(evs...)
		for i, s := range subs {
			var want []Event
			for _, e := range evs {
				if s.filter.match(e) {
					want = append(want, e)
				}
			}
			var got []Event
			select {
			case got = <-s.C:
			default:
			}
			require.Equal(t, want, got, "stream %d", i)
		}
	}

	subs[4].Close()
	require.NotContains(t, h.byUser, int64(2), "the user's last stream closed")
	for range subBuffer + 1 { // nobody reads user 3's stream; the admin's is read
		h.publish(Event{Task: &TaskChange{ID: 41, Owner: &[]int64{3}[0]}})
		<-subs[0].C
	}
	require.True(t, subs[5].Dropped())
	require.NotContains(t, h.byUser, int64(3), "a dropped stream leaves the index")
	require.Len(t, h.byUser[1], 3)
	require.Len(t, h.admins, 1)
	require.Equal(t, 4, h.Subscribers())
}

// BenchmarkPublish hands a grouped event's 350 tasks to subscribers: an
// admin's stream (every event) and 100 users' (their own, a few each).
func BenchmarkPublish(b *testing.B) {
	for _, c := range []struct {
		name  string
		users int
	}{{"admin", 0}, {"100-users", 100}} {
		b.Run(c.name, func(b *testing.B) {
			h := NewHub(nil, nil, nil)
			var subs []*Subscription
			if c.users == 0 {
				sub, _, _, _ := h.Subscribe(Filter{Caller: inbox.Principal{Role: inbox.RoleAdmin}}, "")
				subs = append(subs, sub)
			}
			for u := range c.users {
				sub, _, _, _ := h.Subscribe(Filter{Caller: inbox.Principal{UserID: int64(u + 1)}}, "")
				subs = append(subs, sub)
			}
			evs := make([]Event, 350)
			b.ReportAllocs()
			for b.Loop() {
				for i := range evs {
					owner := int64(i%(c.users+1) + 1)
					evs[i] = Event{Task: &TaskChange{ID: int64(i), Owner: &owner}}
				}
				h.publish(evs...)
				for _, s := range subs {
					<-s.C
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
		})
	}
}
