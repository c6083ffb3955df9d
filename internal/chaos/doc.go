// Package chaos is inboxq's reliability harness, run by `make chaos`. It
// starts real processes — `inboxq serve`, `inboxq worker`s and the fake Gmail
// (cmd/fakegmail) — on a private PostgreSQL cluster of its own, then kills
// workers, restarts and stops PostgreSQL and cuts every connection while
// syncs and bulk actions run, and pushes 10,000 tasks through two workers.
// Each scenario checks what a user would: every message stored once, bulk
// labels as asked in Gmail and in the store, every task completed, none
// stuck, lost or run twice, /readyz truthful, and the event stream resumed
// by replay. It prints (and writes to $CHAOS_REPORT) a table of figures:
// recovery times, messages, Gmail calls repeated, task outcomes.
//
// The harness is a test behind the chaos build tag (go test -tags chaos),
// so that `go test ./...` does not run it.
package chaos
