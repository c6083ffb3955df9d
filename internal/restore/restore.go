// Package restore brings a user's data back from an export or backup
// archive (the `inboxq restore` command): accounts, disconnected, and their
// messages' metadata, in one transaction.
package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/inboxq/inboxq/internal/archive"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// ErrChecksumMismatch is the error of a file that differs from the archive
// inboxq recorded. A file that is no archive is archive.ErrCorrupt.
var ErrChecksumMismatch = errors.New("checksum mismatch")

// ErrUnstorable is the error of an intact archive holding a value the
// database cannot store (a NUL character in a text, a history id beyond a
// bigint): inboxq never writes one, so the archive was made or edited
// elsewhere. Checked before the value's statement, which would fail on it.
var ErrUnstorable = errors.New("the archive holds a value the database cannot store")

// Result counts what a restore brought back.
type Result struct {
	Manifest        archive.Manifest
	AccountsCreated int64
	AccountsKept    int64 // already there (same address): left as they were
	Messages        int64
	// Verified is set when the archive matched the checksum inboxq recorded
	// when it wrote it; archives from another database cannot be checked.
	Verified bool
}

// batch is how many messages one upsert saves.
const batch = 1000

// Archive reads an archive in one pass and brings back the owner's
// accounts, as disconnected (archives hold no tokens: each needs a new
// consent; an account with the same address is kept as it is), and their
// messages' metadata (upserted), in one transaction. Labels and tasks are
// not restored: labels come from the messages, and tasks are history. When
// this database recorded the archive, a file whose SHA-256 differs is
// refused and nothing is written.
func Archive(ctx context.Context, st *store.Store, owner int64, r io.Reader) (Result, error) {
	var res Result
	rd, err := archive.NewReader(r)
	if err != nil {
		return res, err
	}
	res.Manifest = rd.Manifest
	err = st.InTx(ctx, func(_ pgx.Tx, st *store.Store) error {
		accounts := map[int64]int64{} // archive id → this database's id
		for {
			name, member, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			switch name {
			case archive.JSONLines(archive.SectionAccounts):
				err = restoreAccounts(ctx, st, owner, member, accounts, &res)
			case archive.JSONLines(archive.SectionMessages):
				err = restoreMessages(ctx, st, member, accounts, &res)
			}
			if err != nil {
				return damaged(ctx, rd, err)
			}
		}
		sum, err := rd.Finish()
		if err != nil {
			return err
		}
		rec, err := st.ExportGetByArchive(ctx, res.Manifest.ArchiveID)
		if errors.Is(err, inbox.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if sum != rec.SHA256 {
			return fmt.Errorf("%w: inboxq recorded this archive (%s %d) with SHA-256 %s, but the file's is %s: it was changed or damaged",
				ErrChecksumMismatch, rec.Kind, rec.ID, rec.SHA256, sum)
		}
		res.Verified = true
		return nil
	})
	return res, err
}

// damaged is err, or the archive's own damage when reading it to its end
// finds some: a damaged archive can break a statement (a row the database
// refuses) before gzip's checksum at its end would have told, and it is
// bad input, not a failure of the restore.
func damaged(ctx context.Context, rd *archive.Reader, err error) error {
	if errors.Is(err, archive.ErrCorrupt) || ctx.Err() != nil {
		return err
	}
	if _, ferr := rd.Finish(); errors.Is(ferr, archive.ErrCorrupt) {
		return ferr
	}
	return err
}

func restoreAccounts(ctx context.Context, st *store.Store, owner int64, r io.Reader, ids map[int64]int64, res *Result) error {
	return archive.Each(r, func(a archive.Account) error {
		if field := unstorable(append([]string{a.Email}, a.Scopes...)...); field >= 0 {
			return fmt.Errorf("%w: %s: account %d: its email or a scope holds a NUL character", ErrUnstorable,
				archive.JSONLines(archive.SectionAccounts), a.ID)
		}
		id, created, err := st.AccountRestore(ctx, owner, inbox.Account{Email: a.Email, Scopes: a.Scopes, HistoryID: a.HistoryID,
			MessagesTotal: a.MessagesTotal, FullSyncedAt: a.FullSyncedAt, LastSyncedAt: a.LastSyncedAt})
		if err != nil {
			return err
		}
		ids[a.ID] = id
		if created {
			res.AccountsCreated++
		} else {
			res.AccountsKept++
		}
		return nil
	})
}

func restoreMessages(ctx context.Context, st *store.Store, r io.Reader, ids map[int64]int64, res *Result) error {
	var msgs []inbox.Message
	// inBatch holds the batch's message ids: an archive never repeats one,
	// and a repeat in one upsert is a database error (ON CONFLICT cannot
	// touch a row twice), which a damaged archive must not become. Across
	// batches a repeat only updates the row, and damage that caused it
	// fails gzip's checksum at the archive's end; the restore is one
	// transaction either way.
	inBatch := map[string]bool{}
	account := int64(0)
	flush := func() error {
		if len(msgs) == 0 {
			return nil
		}
		if err := st.MessageUpsert(ctx, account, msgs); err != nil {
			return err
		}
		res.Messages += int64(len(msgs))
		msgs = msgs[:0]
		clear(inBatch)
		return nil
	}
	err := archive.Each(r, func(m archive.Message) error {
		to, ok := ids[m.AccountID]
		if !ok {
			return fmt.Errorf("%w: %s: message %q of unknown account %d", archive.ErrCorrupt,
				archive.JSONLines(archive.SectionMessages), m.ID, m.AccountID)
		}
		if to != account || len(msgs) == batch {
			if err := flush(); err != nil {
				return err
			}
			account = to
		}
		if inBatch[m.ID] {
			return fmt.Errorf("%w: %s: message %q appears twice", archive.ErrCorrupt,
				archive.JSONLines(archive.SectionMessages), m.ID)
		}
		if err := storableMessage(m); err != nil {
			return err
		}
		inBatch[m.ID] = true
		msgs = append(msgs, inbox.Message{ID: m.ID, ThreadID: m.ThreadID, From: m.From, To: m.To, Subject: m.Subject, Snippet: m.Snippet,
			Date: m.Date, Labels: m.Labels, Size: m.Size, ListUnsubscribe: m.ListUnsubscribe, AuthResults: m.AuthResults, HistoryID: m.HistoryID})
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// storableMessage is nil, or why the database could not store m.
func storableMessage(m archive.Message) error {
	where := archive.JSONLines(archive.SectionMessages)
	names := []string{"id", "thread_id", "from", "to", "subject", "snippet", "list_unsubscribe", "auth_results"}
	if i := unstorable(m.ID, m.ThreadID, m.From, m.To, m.Subject, m.Snippet, m.ListUnsubscribe, m.AuthResults); i >= 0 {
		return fmt.Errorf("%w: %s: message %q: its %s holds a NUL character", ErrUnstorable, where, m.ID, names[i])
	}
	if unstorable(m.Labels...) >= 0 {
		return fmt.Errorf("%w: %s: message %q: a label holds a NUL character", ErrUnstorable, where, m.ID)
	}
	if m.HistoryID > math.MaxInt64 {
		return fmt.Errorf("%w: %s: message %q: history id %d is beyond a bigint", ErrUnstorable, where, m.ID, m.HistoryID)
	}
	return nil
}

// unstorable is the index of the first text PostgreSQL cannot store (it
// holds a NUL), or -1. JSON decoding already made every text valid UTF-8.
func unstorable(texts ...string) int {
	for i, t := range texts {
		if strings.IndexByte(t, 0) >= 0 {
			return i
		}
	}
	return -1
}
