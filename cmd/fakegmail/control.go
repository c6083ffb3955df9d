package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/inboxq/inboxq/internal/gmail/fakegmail"
)

// controlPrefix is where the control API lives: Gmail never uses it.
const controlPrefix = "/_fake/"

// newHandler serves the fake Gmail, and the control API under /_fake/:
//
//	POST   /_fake/mailboxes            {"address","messages","seed","end"} generates a mailbox (end: RFC 3339 date of the newest message)
//	GET    /_fake/mailboxes/{address}  its state: message count, labels and their counts, each message's labels
//	POST   /_fake/tokens               {"address","scopes"} issues a refresh token, as if the owner had consented
//	GET    /_fake/requests?user=&op=   the request log, oldest first, with the message ids each call named
//	GET    /_fake/calls?user=          per operation: successful calls, the messages they named, and how many were named again
//	POST   /_fake/delays               {"pattern","user","before_ms","after_ms"} holds matching calls (fakegmail.Delay)
//	DELETE /_fake/delays               removes every delay
func newHandler(fake *fakegmail.Server) http.Handler {
	c := &control{fake: fake}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_fake/mailboxes", c.addMailbox)
	mux.HandleFunc("GET /_fake/mailboxes/{address}", c.mailbox)
	mux.HandleFunc("POST /_fake/tokens", c.token)
	mux.HandleFunc("GET /_fake/requests", c.requests)
	mux.HandleFunc("GET /_fake/calls", c.calls)
	mux.HandleFunc("POST /_fake/delays", c.addDelay)
	mux.HandleFunc("DELETE /_fake/delays", c.clearDelays)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, controlPrefix) {
			mux.ServeHTTP(w, r)
			return
		}
		fake.ServeHTTP(w, r) // Gmail's paths, untouched by the mux's path cleaning
	})
}

type control struct {
	fake *fakegmail.Server
}

// NewMailbox asks for a generated mailbox.
type NewMailbox struct {
	Address  string    `json:"address"`
	Messages int       `json:"messages"`
	Seed     int64     `json:"seed"`
	End      time.Time `json:"end"`
}

// MailboxState is a mailbox as the control API shows it.
type MailboxState struct {
	Address   string `json:"address"`
	HistoryID uint64 `json:"history_id"`
	// Messages counts every message, spam and trash included.
	Messages int `json:"messages"`
	// LabelNames maps live label ids to names (system labels: their ids).
	LabelNames map[string]string `json:"label_names"`
	// LabelCounts counts the messages carrying each label id.
	LabelCounts map[string]int `json:"label_counts"`
	// MessageLabels lists each message's label ids.
	MessageLabels map[string][]string `json:"message_labels"`
}

// TokenRequest asks for a refresh token.
type TokenRequest struct {
	Address string   `json:"address"`
	Scopes  []string `json:"scopes"`
}

// Request is one entry of the request log.
type Request struct {
	Time      time.Time `json:"time"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Operation string    `json:"operation"`
	User      string    `json:"user"`
	Status    int       `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Units     int       `json:"units"`
	IDs       []string  `json:"ids,omitempty"`
}

// OperationCalls sums up one operation's successful calls on a mailbox.
type OperationCalls struct {
	// Calls is how many calls succeeded.
	Calls int `json:"calls"`
	// IDs is how many distinct messages they named.
	IDs int `json:"ids"`
	// RepeatedIDs is how many of those were named by more than one call;
	// Repeats how many times more than once, in all.
	RepeatedIDs int `json:"repeated_ids"`
	Repeats     int `json:"repeats"`
}

// DelayRequest adds a fakegmail.Delay.
type DelayRequest struct {
	Pattern  string `json:"pattern"`
	User     string `json:"user"`
	BeforeMS int    `json:"before_ms"`
	AfterMS  int    `json:"after_ms"`
}

func (c *control) addMailbox(w http.ResponseWriter, r *http.Request) {
	var in NewMailbox
	if !decode(w, r, &in) {
		return
	}
	if in.Address == "" || in.Messages < 0 || in.Messages > 1_000_000 {
		fail(w, http.StatusUnprocessableEntity, "want an address and 0 to 1000000 messages")
		return
	}
	if c.fake.Mailbox(in.Address) != nil {
		fail(w, http.StatusConflict, "mailbox %s exists", in.Address)
		return
	}
	mb := fakegmail.Generate(in.Seed, in.Messages, fakegmail.GenerateOptions{Address: in.Address, End: in.End})
	c.fake.AddMailbox(mb)
	reply(w, http.StatusCreated, state(mb))
}

func (c *control) mailbox(w http.ResponseWriter, r *http.Request) {
	mb := c.fake.Mailbox(r.PathValue("address"))
	if mb == nil {
		fail(w, http.StatusNotFound, "no mailbox %s", r.PathValue("address"))
		return
	}
	reply(w, http.StatusOK, state(mb))
}

func state(mb *fakegmail.Mailbox) MailboxState {
	s := MailboxState{Address: mb.Address(), HistoryID: mb.HistoryID(), LabelNames: mb.LabelNames(),
		LabelCounts: map[string]int{}, MessageLabels: map[string][]string{}}
	for _, id := range mb.MessageIDs() {
		labels, err := mb.MessageLabels(id)
		if err != nil {
			continue // deleted meanwhile
		}
		s.Messages++
		s.MessageLabels[id] = labels
		for _, l := range labels {
			s.LabelCounts[l]++
		}
	}
	return s
}

func (c *control) token(w http.ResponseWriter, r *http.Request) {
	var in TokenRequest
	if !decode(w, r, &in) {
		return
	}
	if c.fake.Mailbox(in.Address) == nil {
		fail(w, http.StatusNotFound, "no mailbox %s", in.Address)
		return
	}
	reply(w, http.StatusCreated, map[string]string{"refresh_token": c.fake.IssueRefreshToken(in.Address, in.Scopes...)})
}

// log returns the request log entries of user (all when empty) and op.
func (c *control) log(user, op string) []fakegmail.RequestRecord {
	return slices.DeleteFunc(c.fake.Requests(), func(rec fakegmail.RequestRecord) bool {
		return (user != "" && rec.User != strings.ToLower(user)) || (op != "" && rec.Operation != op)
	})
}

func (c *control) requests(w http.ResponseWriter, r *http.Request) {
	recs := c.log(r.URL.Query().Get("user"), r.URL.Query().Get("op"))
	out := make([]Request, len(recs))
	for i, rec := range recs {
		out[i] = Request{Time: rec.Time, Method: rec.Method, Path: rec.Path, Operation: rec.Operation, User: rec.User,
			Status: rec.Status, Reason: rec.Reason, Units: rec.Units, IDs: rec.IDs}
	}
	reply(w, http.StatusOK, map[string]any{"requests": out})
}

func (c *control) calls(w http.ResponseWriter, r *http.Request) {
	named := map[string]map[string]int{} // operation → message id → successful calls naming it
	ops := map[string]OperationCalls{}
	for _, rec := range c.log(r.URL.Query().Get("user"), "") {
		if rec.Operation == "" || rec.Status >= 300 {
			continue
		}
		oc := ops[rec.Operation]
		oc.Calls++
		ops[rec.Operation] = oc
		if named[rec.Operation] == nil {
			named[rec.Operation] = map[string]int{}
		}
		for _, id := range rec.IDs {
			named[rec.Operation][id]++
		}
	}
	for op, ids := range named {
		oc := ops[op]
		oc.IDs = len(ids)
		for _, n := range ids {
			if n > 1 {
				oc.RepeatedIDs++
				oc.Repeats += n - 1
			}
		}
		ops[op] = oc
	}
	reply(w, http.StatusOK, map[string]any{"ops": ops})
}

func (c *control) addDelay(w http.ResponseWriter, r *http.Request) {
	var in DelayRequest
	if !decode(w, r, &in) {
		return
	}
	if in.Pattern == "" || in.BeforeMS < 0 || in.AfterMS < 0 {
		fail(w, http.StatusUnprocessableEntity, "want a pattern and waits of 0 ms or more")
		return
	}
	c.fake.AddDelay(fakegmail.Delay{Pattern: in.Pattern, User: in.User,
		Before: time.Duration(in.BeforeMS) * time.Millisecond, After: time.Duration(in.AfterMS) * time.Millisecond})
	w.WriteHeader(http.StatusNoContent)
}

func (c *control) clearDelays(w http.ResponseWriter, _ *http.Request) {
	c.fake.ClearDelays()
	w.WriteHeader(http.StatusNoContent)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "bad JSON body: %v", err)
		return false
	}
	return true
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, format string, args ...any) {
	reply(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}
