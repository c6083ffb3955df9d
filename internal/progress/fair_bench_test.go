package progress_test

import (
	"context"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/progress"
)

// insertOwnedNoops inserts benchJobs no-op jobs spread over owners users,
// in 5,000-job statements, the way the task service stores users' tasks
// (one River priority band).
func insertOwnedNoops(b *testing.B, client *jobs.Client, owners int) {
	b.Helper()
	ctx := context.Background()
	params := make([]river.InsertManyParams, 0, 5000)
	for i := range benchJobs {
		args := noopArgs{Owned: jobs.Owned{OwnerID: int64(1 + i%owners)}}
		params = append(params, river.InsertManyParams{Args: args, InsertOpts: &river.InsertOpts{Priority: 2, Metadata: []byte(`{"priority":3}`)}})
		if len(params) == cap(params) || i == benchJobs-1 {
			_, err := client.InsertManyFast(ctx, params)
			require.NoError(b, err)
			params = params[:0]
		}
	}
}

// timedRun times inserting the jobs and working them all off.
func timedRun(b *testing.B, client *jobs.Client, owners int) float64 {
	b.Helper()
	return burnDown(b, client, func() { insertOwnedNoops(b, client, owners) }).rate
}

func rawRiverOwned(b *testing.B, owners int) float64 {
	b.Helper()
	round := inboxqtest.NewScope(b)
	defer round.Close()
	return timedRun(b, rawRiverClient(round), owners)
}

// inboxqOwned runs the same jobs through inboxq (events delivered to a
// subscriber), with each user capped at userCap ready-or-running jobs
// (0: no cap).
func inboxqOwned(b *testing.B, userCap, owners int) float64 {
	b.Helper()
	round := inboxqtest.NewScope(b)
	defer round.Close()
	s := inboxqtest.NewStack(round, inboxqtest.StackOptions{
		Workers:       map[string]int{inbox.QueueDefault: benchWorkers},
		FetchCooldown: benchCooldown, FetchPollInterval: benchPollEvery, NoRiverUI: true, UserCap: userCap,
		Kinds: benchKinds,
	})
	sub, _, _, _ := s.Hub.Subscribe(progress.Filter{Caller: inbox.Principal{Role: inbox.RoleAdmin}}, "")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range sub.C {
		}
	}()
	rate := timedRun(b, s.Client, owners)
	sub.Close()
	<-done
	return rate
}

// BenchmarkFairShareCost measures what fair sharing costs, inserts
// included, in alternating rounds: 20,000 no-op jobs through raw River,
// through inboxq without caps, and through inboxq with each user capped at
// half the workers (the default). Two loads: 10 users with 2,000 jobs each
// (the worst case: 95 % of the jobs wait as pending and are admitted one by
// one, an extra write each), and 200 users with 100 each (every user
// within the cap: what the machinery costs when nobody is parked).
func BenchmarkFairShareCost(b *testing.B) {
	for _, load := range []struct {
		name   string
		owners int
	}{{"worst", 10}, {"within", 200}} {
		// A sub-benchmark each, so each load's schemas and pools are
		// released before the next starts.
		b.Run(load.name, func(b *testing.B) {
			for range b.N {
				var raw, open, fair, fairVsOpen, fairVsRaw []float64
				for round := range rounds {
					var r, o, f float64
					runs := []func(){
						func() { r = rawRiverOwned(b, load.owners) },
						func() { o = inboxqOwned(b, 0, load.owners) },
						func() { f = inboxqOwned(b, benchWorkers/2, load.owners) },
					}
					for k := range runs { // taking turns going first, as in BenchmarkNoopThroughput
						runs[(k+round)%len(runs)]()
					}
					raw, open, fair = append(raw, r), append(open, o), append(fair, f)
					fairVsOpen, fairVsRaw = append(fairVsOpen, f/o), append(fairVsRaw, f/r)
				}
				b.Logf("%s (%d users): raw River %v, inboxq uncapped %v, inboxq capped at %d per user %v jobs/s; capped/uncapped median %.2f",
					load.name, load.owners, fmtRates(raw), fmtRates(open), benchWorkers/2, fmtRates(fair), median(fairVsOpen))
				b.ReportMetric(median(raw), "river_jobs/s")
				b.ReportMetric(median(fair), "capped_jobs/s")
				b.ReportMetric(median(fairVsOpen), "capped/uncapped")
				b.ReportMetric(median(fairVsRaw), "capped/river")
			}
		})
	}
}
