package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

// BenchmarkAnalytics100k rolls up a 100,000-message mailbox spread over
// three years (about 91 a day, classified, a third unread): the first run
// (every day changed), an incremental run after a sync's worth of new mail
// (200 messages on the two newest days) and a classification of 100 older
// messages on two other days, and a run with nothing new. It also times
// storing 10,000 messages with and without the triggers that mark changed
// days, their cost to syncs.
func BenchmarkAnalytics100k(b *testing.B) {
	for range b.N {
		ctx := context.Background()
		s := inboxqtest.TestSchema(b)
		st := store.New(s.Pool)
		owner, err := st.UserUpsert(ctx, "bench", inbox.RoleUser)
		require.NoError(b, err)
		acct, err := st.AccountUpsert(ctx, owner.UserID, "bench@example.com", []string{})
		require.NoError(b, err)
		now := time.Now().UTC()
		spread := func(ms []inbox.Message, from time.Time, step time.Duration) {
			for i := range ms {
				ms[i].Date = from.Add(-time.Duration(i) * step)
				if i%3 == 0 {
					ms[i].Labels = append(ms[i].Labels, "UNREAD")
				}
			}
		}
		mail := benchMail(100_000)
		spread(mail, now.Add(-48*time.Hour), 3*365*24*time.Hour/100_000)
		for i := 0; i < len(mail); i += 1000 {
			require.NoError(b, st.MessageUpsert(ctx, acct.ID, mail[i:min(i+1000, len(mail))]))
		}
		_, err = s.Pool.Exec(ctx, `UPDATE message SET category = (ARRAY['primary','social','promotions','updates','forums','newsletters','spam'])[1 + abs(hashtext(id)) % 7]
			WHERE account_id = $1 AND abs(hashtext(id)) % 50 <> 0`, acct.ID)
		require.NoError(b, err)
		_, err = s.Pool.Exec(ctx, "VACUUM ANALYZE message")
		require.NoError(b, err)

		roll := func() (store.AnalyticsUserRollup, time.Duration) {
			start := time.Now()
			res, err := st.AnalyticsUpdateUser(ctx, owner.UserID, jobs.BulkKinds)
			require.NoError(b, err)
			return res, time.Since(start)
		}
		first, tookFirst := roll()
		require.Positive(b, first.MailRows)

		// A sync's worth of new mail, and a classification of older mail.
		fresh := benchMail(100_200)[100_000:]
		for i := range fresh {
			fresh[i].ID = fmt.Sprintf("%016x", 0x1a00000000000000+i)
		}
		// Today and yesterday, whatever the time of day (10 minutes apart
		// from now, 33 hours, reached back three days just after midnight).
		spread(fresh, now, (now.Sub(now.Truncate(24*time.Hour))+24*time.Hour)/time.Duration(len(fresh)))
		require.NoError(b, st.MessageUpsert(ctx, acct.ID, fresh))
		_, err = s.Pool.Exec(ctx, `UPDATE message SET category = 'newsletters' WHERE account_id = $1 AND id IN (
			SELECT id FROM message WHERE account_id = $1 AND internal_date::date IN ($2::date, $2::date - 1) LIMIT 100)`,
			acct.ID, now.AddDate(0, 0, -300))
		require.NoError(b, err)
		inc, tookInc := roll()
		require.LessOrEqual(b, inc.Days, int64(4))
		idle, tookIdle := roll()
		require.Equal(b, store.AnalyticsUserRollup{}, idle)

		// The triggers' cost to a sync: 10,000 messages stored in pages of
		// 100, with and without them.
		other, err := st.AccountUpsert(ctx, owner.UserID, "other@example.com", []string{})
		require.NoError(b, err)
		store10k := func(prefix int) time.Duration {
			ms := benchMail(10_000)
			for i := range ms {
				ms[i].ID = fmt.Sprintf("%016x", prefix+i)
			}
			start := time.Now()
			for i := 0; i < len(ms); i += 100 {
				require.NoError(b, st.MessageUpsert(ctx, other.ID, ms[i:i+100]))
			}
			return time.Since(start)
		}
		_, err = s.Pool.Exec(ctx, "ALTER TABLE message DISABLE TRIGGER message_analytics_inserted; ALTER TABLE message DISABLE TRIGGER message_analytics_updated")
		require.NoError(b, err)
		without := store10k(0x1b00000000000000)
		_, err = s.Pool.Exec(ctx, "ALTER TABLE message ENABLE TRIGGER message_analytics_inserted; ALTER TABLE message ENABLE TRIGGER message_analytics_updated")
		require.NoError(b, err)
		with := store10k(0x1c00000000000000)

		b.ReportMetric(float64(tookFirst.Milliseconds()), "first_ms")
		b.ReportMetric(float64(tookInc.Microseconds())/1000, "incremental_ms")
		b.ReportMetric(float64(tookIdle.Microseconds())/1000, "idle_ms")
		b.ReportMetric(float64(with.Milliseconds()), "store10k_triggers_ms")
		b.ReportMetric(float64(without.Milliseconds()), "store10k_no_triggers_ms")
		b.Logf("first run: %d days, %d rows in %s; incremental: %d days, %d rows in %s; nothing new: %s; "+
			"storing 10,000 messages in pages of 100: %s with the triggers, %s without",
			first.Days, first.MailRows, tookFirst.Round(time.Millisecond), inc.Days, inc.MailRows, tookInc.Round(time.Microsecond),
			tookIdle.Round(time.Microsecond), with.Round(time.Millisecond), without.Round(time.Millisecond))
	}
}
