// Package archive is the file format of inboxq's exports and backups: one
// .tar.gz holding manifest.json first, then each section (accounts,
// messages, labels, tasks) as JSON Lines and as CSV. The Writer spools
// sections and packs them; the Reader checks the manifest and reads the
// sections back in one pass. What goes into an archive, and where it is
// kept, is decided elsewhere (internal/jobs writes archives, internal/restore
// reads them).
package archive

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
)

// The layout, version 1: manifest.json first, then each section as JSON
// Lines and as CSV. accounts.jsonl precedes messages.jsonl, so that a
// reader needs one pass.
const (
	Format       = "inboxq-export"
	Version      = 1
	ManifestName = "manifest.json"
)

// The sections, in archive order.
const (
	SectionAccounts = "accounts"
	SectionMessages = "messages"
	SectionLabels   = "labels"
	SectionTasks    = "tasks"
)

// JSONLines is the member that holds a section's records as JSON Lines.
func JSONLines(section string) string { return section + ".jsonl" }

// ErrCorrupt is the error of a file that is not an inboxq archive, or is
// damaged.
var ErrCorrupt = errors.New("not a readable inboxq archive (corrupt, truncated or another kind of file)")

// Manifest is manifest.json: what the archive holds.
type Manifest struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	ArchiveID string    `json:"archive_id"`
	Kind      string    `json:"kind"`
	TaskID    int64     `json:"task_id"`
	Owner     Owner     `json:"owner"`
	CreatedAt time.Time `json:"created_at"`
	Counts    Counts    `json:"counts"`
	Files     []string  `json:"files"`
}

// Owner is the user whose data the archive holds.
type Owner struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Counts is how many records each section holds.
type Counts struct {
	Accounts int64 `json:"accounts"`
	Messages int64 `json:"messages"`
	Labels   int64 `json:"labels"`
	Tasks    int64 `json:"tasks"`
}

// NewID returns a random archive id: it names an archive across databases
// (the manifest carries it, and the database that wrote the archive records
// it with the file's checksum).
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Record is a line of one section: Account, Message, Label or Task.
type Record interface {
	Account | Message | Label | Task
	// section names the record's section.
	section() string
	// columns are the CSV header.
	columns() []string
	// cells are the record as a CSV row.
	cells() []string
	// check refuses a record a reader cannot use.
	check() error
}

// Account is one line of accounts.jsonl. There is no token: an account
// restored from an archive needs a new consent.
type Account struct {
	ID            int64      `json:"id"`
	Email         string     `json:"email"`
	Status        string     `json:"status"`
	Scopes        []string   `json:"scopes"`
	HistoryID     *int64     `json:"history_id"`
	MessagesTotal *int64     `json:"messages_total"`
	FullSyncedAt  *time.Time `json:"full_synced_at"`
	LastSyncedAt  *time.Time `json:"last_synced_at"`
	CreatedAt     time.Time  `json:"created_at"`
}

func (Account) section() string { return SectionAccounts }

func (Account) columns() []string {
	return []string{"id", "email", "status", "scopes", "history_id", "messages_total", "full_synced_at", "last_synced_at", "created_at"}
}

func (a Account) cells() []string {
	return []string{num(a.ID), a.Email, a.Status, strings.Join(a.Scopes, " "), optInt(a.HistoryID),
		optInt(a.MessagesTotal), optTime(a.FullSyncedAt), optTime(a.LastSyncedAt), stamp(a.CreatedAt)}
}

func (a Account) check() error {
	if a.Email == "" {
		return errors.New("account " + num(a.ID) + " has no address")
	}
	return nil
}

// Message is one line of messages.jsonl: a message's metadata.
type Message struct {
	AccountID       int64     `json:"account_id"`
	ID              string    `json:"id"`
	ThreadID        string    `json:"thread_id"`
	From            string    `json:"from"`
	To              string    `json:"to"`
	Subject         string    `json:"subject"`
	Snippet         string    `json:"snippet"`
	Date            time.Time `json:"date"`
	Labels          []string  `json:"labels"`
	Size            int64     `json:"size"`
	ListUnsubscribe string    `json:"list_unsubscribe"`
	AuthResults     string    `json:"auth_results"`
	HistoryID       uint64    `json:"history_id"`
}

func (Message) section() string { return SectionMessages }

func (Message) columns() []string {
	return []string{"account_id", "id", "thread_id", "from", "to", "subject", "snippet", "date", "labels", "size", "list_unsubscribe"}
}

func (m Message) cells() []string {
	return []string{num(m.AccountID), m.ID, m.ThreadID, m.From, m.To, m.Subject, m.Snippet, stamp(m.Date),
		strings.Join(m.Labels, " "), num(m.Size), m.ListUnsubscribe}
}

func (m Message) check() error {
	if m.ID == "" {
		return errors.New("a message of account " + num(m.AccountID) + " has no id")
	}
	return nil
}

// Label is one line of labels.jsonl: how many of an account's messages
// carry a label.
type Label struct {
	AccountID int64  `json:"account_id"`
	Label     string `json:"label"`
	Messages  int64  `json:"messages"`
}

func (Label) section() string { return SectionLabels }

func (Label) columns() []string { return []string{"account_id", "label", "messages"} }

func (l Label) cells() []string { return []string{num(l.AccountID), l.Label, num(l.Messages)} }

func (Label) check() error { return nil }

// Task is one line of tasks.jsonl: a task of the owner's history.
type Task struct {
	ID          int64                `json:"id"`
	Kind        string               `json:"kind"`
	Queue       string               `json:"queue"`
	State       inbox.TaskState      `json:"state"`
	Attempt     int                  `json:"attempt"`
	MaxAttempts int                  `json:"max_attempts"`
	Args        json.RawMessage      `json:"args"`
	Errors      []inbox.AttemptError `json:"errors"`
	Result      json.RawMessage      `json:"result,omitempty"`
	CreatedAt   time.Time            `json:"created_at"`
	StartedAt   *time.Time           `json:"started_at"`
	FinishedAt  *time.Time           `json:"finished_at"`
}

func (Task) section() string { return SectionTasks }

func (Task) columns() []string {
	return []string{"id", "kind", "queue", "state", "attempt", "max_attempts", "created_at", "started_at", "finished_at", "last_error"}
}

// cells has the last attempt's error, not all of them.
func (t Task) cells() []string {
	lastErr := ""
	if len(t.Errors) > 0 {
		lastErr = t.Errors[len(t.Errors)-1].Error
	}
	return []string{num(t.ID), t.Kind, t.Queue, string(t.State), strconv.Itoa(t.Attempt), strconv.Itoa(t.MaxAttempts),
		stamp(t.CreatedAt), optTime(t.StartedAt), optTime(t.FinishedAt), lastErr}
}

func (Task) check() error { return nil }

func num(n int64) string { return strconv.FormatInt(n, 10) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func optTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return stamp(*t)
}

func optInt(n *int64) string {
	if n == nil {
		return ""
	}
	return num(*n)
}
