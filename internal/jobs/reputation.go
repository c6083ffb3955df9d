package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/reputation"
	"github.com/inboxq/inboxq/internal/store"
)

// UpdateSenderReputationArgs scores a person's senders.
type UpdateSenderReputationArgs struct {
	Owned
}

// Kind names the job.
func (UpdateSenderReputationArgs) Kind() string { return "update_sender_reputation" }

// InsertOpts: the classify queue, one per person in flight.
func (UpdateSenderReputationArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueClassify, Priority: 3, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

// ReputationResult is what update_sender_reputation records.
type ReputationResult struct {
	Rescan    bool  `json:"rescan" doc:"Every sender was recounted (the first run, or mail was deleted since the last)"`
	Addresses int   `json:"addresses" doc:"Sender addresses with new evidence, recounted"`
	Domains   int   `json:"domains" doc:"Their domains, recounted"`
	Changed   int64 `json:"changed" doc:"Senders whose score or counts changed, and written"`
	Removed   int64 `json:"removed" doc:"Senders forgotten: none of their mail is left"`
}

// reputationBatch is how many senders one checkpoint scores at most, and
// reputationBatchMessages how much of their mail one batch reads at most
// (the worker holds it while it counts; a sender with more is a batch of
// its own). Bounded by senders alone, the first run over 100,000 messages
// of 371 senders read them all at once: a worker peak of 87-101 MB, which
// grows with the mailbox; now 58-62 MB, for 2.2-2.6 s instead of 1.5-1.6
// (BenchmarkReputationTask100k: smaller batches are read by index, whole
// mailboxes in one scan).
const (
	reputationBatch         = 500
	reputationBatchMessages = 20_000
)

// nextBatch returns the addresses that start addrs and make one batch: at
// most reputationBatch of them and, unless the first alone has more, at
// most reputationBatchMessages messages by counts.
func nextBatch(addrs []string, counts map[string]int64) []string {
	n, mail := 0, int64(0)
	for n < len(addrs) && n < reputationBatch {
		mail += counts[addrs[n]]
		if n > 0 && mail > reputationBatchMessages {
			break
		}
		n++
	}
	return addrs[:n]
}

// evidenceOverlap is how far before the last run's newest evidence the next
// run looks again: a transaction that stamped its rows earlier but
// committed later is not missed. Senders read again are rewritten only
// when something changed.
const evidenceOverlap = 5 * time.Minute

// reputationCursor is the run's checkpoint.
type reputationCursor struct {
	Since        time.Time `json:"since"`
	Rescan       bool      `json:"rescan"`
	Through      time.Time `json:"through"`
	AfterAddress string    `json:"after_address"`
	Total        int       `json:"total"`
	Changed      int64     `json:"changed"`
	Removed      int64     `json:"removed"`
	Started      bool      `json:"started"`
}

// UpdateSenderReputationWorker runs update_sender_reputation.
type UpdateSenderReputationWorker struct {
	WorkerDefaults[UpdateSenderReputationArgs]
	store  *store.Store
	logger *slog.Logger
	slice  time.Duration
}

// Timeout: one slice per attempt.
func (w *UpdateSenderReputationWorker) Timeout(*river.Job[UpdateSenderReputationArgs]) time.Duration {
	return 2 * w.slice
}

// domainOfAddress is the part of addr after its last '@' ("" without one).
func domainOfAddress(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// Work finds the senders whose mail changed since the last run (every
// sender on the first run or after mail was deleted), recounts their
// evidence and scores them in batches with a checkpoint, then their
// domains, and records how far the evidence is counted.
func (w *UpdateSenderReputationWorker) Work(ctx context.Context, job *river.Job[UpdateSenderReputationArgs]) error {
	owner := job.Args.OwnerID
	rep := progress.From(ctx)
	started := time.Now()
	river.ResumableStepCursor(ctx, "senders", nil, CursorStep(job.JobRow, w.logger, func(ctx context.Context, cur reputationCursor) error {
		if !cur.Started {
			run, had, err := w.store.SenderRunGet(ctx, owner)
			if err != nil {
				return err
			}
			cur.Started, cur.Rescan = true, !had || run.Rescan
			if had {
				cur.Through = run.EvidenceThrough
				if !cur.Rescan {
					cur.Since = run.EvidenceThrough.Add(-evidenceOverlap)
				}
			}
			if had && run.Rescan {
				if err := w.store.SenderRunStart(ctx, owner); err != nil {
					return err
				}
			}
			if err := river.ResumableSetCursor(ctx, cur); err != nil {
				return err
			}
		}
		rep.Stage("finding senders", "")
		addrs, err := w.store.SenderChangedAddresses(ctx, owner, cur.Since)
		if err != nil {
			return err
		}
		if cur.Rescan {
			known, err := w.store.SenderAddressKeys(ctx, owner)
			if err != nil {
				return err
			}
			addrs = append(addrs, known...)
			slices.Sort(addrs)
			addrs = slices.Compact(addrs)
		}
		addrs = slices.DeleteFunc(addrs, func(a string) bool { return a == "" })
		cur.Total = len(addrs)
		rep.SetTotal(int64(len(addrs)))
		counts, err := w.store.SenderMessageCounts(ctx, owner, addrs)
		if err != nil {
			return err
		}
		rep.Stage("scoring addresses", "")
		for {
			i, _ := slices.BinarySearch(addrs, cur.AfterAddress)
			if cur.AfterAddress != "" && i < len(addrs) && addrs[i] == cur.AfterAddress {
				i++
			}
			rep.Set(int64(i))
			if i >= len(addrs) {
				break
			}
			batch := nextBatch(addrs[i:], counts)
			if err := w.addresses(ctx, owner, batch, &cur, job); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err // cancelled: the batches stored stay
			}
			if time.Since(started) > w.slice {
				return river.JobSnooze(0)
			}
		}
		rep.Stage("scoring domains", "")
		var domains []string
		for _, a := range addrs {
			if d := domainOfAddress(a); d != "" {
				domains = append(domains, d)
			}
		}
		slices.Sort(domains)
		domains = slices.Compact(domains)
		for i := 0; i < len(domains); i += reputationBatch {
			if err := w.domains(ctx, owner, domains[i:min(i+reputationBatch, len(domains))], &cur); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := w.store.SenderRunFinish(ctx, owner, cur.Through); err != nil {
			return err
		}
		rep.SetTotal(int64(len(addrs)))
		rep.Set(int64(len(addrs)))
		rep.Stage("done", fmt.Sprintf("%d senders rescored, %d changed", len(addrs)+len(domains), cur.Changed))
		return RecordOutput(ctx, ReputationResult{Rescan: cur.Rescan, Addresses: len(addrs), Domains: len(domains),
			Changed: cur.Changed, Removed: cur.Removed})
	}))
	return nil
}

// write turns evidence into a row.
func senderWrite(kind, key, domain string, e reputation.Evidence, last, evidence time.Time) store.SenderWrite {
	r := reputation.Score(e)
	factors, _ := json.Marshal(r.Factors)
	return store.SenderWrite{Kind: kind, Key: key, Domain: domain, Score: r.Score, Factors: factors,
		Messages: e.Messages, Read: e.Read, Kept: e.Kept, DiscardedUnread: e.DiscardedUnread,
		CorrectedSpam: e.CorrectedSpam, CorrectedNotSpam: e.CorrectedNotSpam, AuthPass: e.AuthPass, AuthFail: e.AuthFail,
		SPFFail: e.SPFFail, DKIMFail: e.DKIMFail, DMARCFail: e.DMARCFail, ListUnsubscribe: e.ListUnsubscribe,
		LastMessageAt: last.UTC(), EvidenceAt: evidence.UTC()}
}

// addresses recounts a batch of addresses and stores them with the
// checkpoint after the batch's last, in one transaction.
func (w *UpdateSenderReputationWorker) addresses(ctx context.Context, owner int64, batch []string, cur *reputationCursor,
	job *river.Job[UpdateSenderReputationArgs]) error {
	msgs, err := w.store.SenderMessages(ctx, owner, batch)
	if err != nil {
		return err
	}
	type acc struct {
		e              reputation.Evidence
		last, evidence time.Time
	}
	by := map[string]*acc{}
	for _, m := range msgs {
		a := by[m.Address]
		if a == nil {
			a = &acc{}
			by[m.Address] = a
		}
		a.e.Add(reputation.Message{Labels: m.LabelIds, AuthResults: m.AuthResults, ListUnsubscribe: m.ListUnsubscribe, Corrected: m.Corrected})
		if m.InternalDate.After(a.last) {
			a.last = m.InternalDate
		}
		if m.EvidenceAt.After(a.evidence) {
			a.evidence = m.EvidenceAt
		}
	}
	var rows []store.SenderWrite
	var gone []string
	next := *cur
	for _, addr := range batch {
		a := by[addr]
		if a == nil {
			gone = append(gone, addr)
			continue
		}
		rows = append(rows, senderWrite("address", addr, domainOfAddress(addr), a.e, a.last, a.evidence))
		if a.evidence.After(next.Through) {
			next.Through = a.evidence
		}
	}
	next.AfterAddress = batch[len(batch)-1]
	err = w.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		n, err := st.SenderUpsert(ctx, owner, rows)
		if err != nil {
			return err
		}
		next.Changed += n
		n, err = st.SenderDelete(ctx, owner, "address", gone)
		if err != nil {
			return err
		}
		next.Removed += n
		_, err = river.ResumableSetStepCursorTx[*riverpgxv5.Driver](ctx, tx, job, next)
		return err
	})
	if err == nil {
		*cur = next
	}
	return err
}

// domains rescores domains from their addresses' counts.
func (w *UpdateSenderReputationWorker) domains(ctx context.Context, owner int64, batch []string, cur *reputationCursor) error {
	sums, err := w.store.SenderDomainSums(ctx, owner, batch)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	rows := make([]store.SenderWrite, 0, len(sums))
	for _, s := range sums {
		seen[s.Domain] = true
		e := reputation.Evidence{Messages: int(s.Messages), Read: int(s.Read), Kept: int(s.Kept), DiscardedUnread: int(s.DiscardedUnread),
			CorrectedSpam: int(s.CorrectedSpam), CorrectedNotSpam: int(s.CorrectedNotSpam), AuthPass: int(s.AuthPass),
			AuthFail: int(s.AuthFail), SPFFail: int(s.SpfFail), DKIMFail: int(s.DkimFail), DMARCFail: int(s.DmarcFail),
			ListUnsubscribe: int(s.ListUnsubscribe)}
		rows = append(rows, senderWrite("domain", s.Domain, s.Domain, e, s.LastMessageAt, s.EvidenceAt))
	}
	var gone []string
	for _, d := range batch {
		if !seen[d] {
			gone = append(gone, d)
		}
	}
	return w.store.InTx(ctx, func(_ pgx.Tx, st *store.Store) error {
		n, err := st.SenderUpsert(ctx, owner, rows)
		if err != nil {
			return err
		}
		cur.Changed += n
		n, err = st.SenderDelete(ctx, owner, "domain", gone)
		cur.Removed += n
		return err
	})
}

// startReputation inserts the owner's update_sender_reputation in tx
// (joining the one waiting, if any).
func startReputation(ctx context.Context, tx pgx.Tx, owner int64) error {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	if _, err := client.InsertTx(ctx, tx, UpdateSenderReputationArgs{Owned: Owned{OwnerID: owner}}, nil); err != nil {
		return fmt.Errorf("starting update_sender_reputation: %w", err)
	}
	return nil
}
