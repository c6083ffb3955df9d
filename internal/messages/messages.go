// Package messages is the service behind /api/v1/messages: a person's
// stored mail with its categories, why each message got its category, and
// their corrections and sender rules, which start reclassify_with_feedback.
// Everything is scoped to the caller.
package messages

import (
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inboxq/inboxq/internal/classify"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// Service is the messages service.
type Service struct {
	Store      *store.Store
	River      *jobs.Client
	Classifier *classify.Classifier
}

// Key names one stored message across a person's accounts: the account and
// Gmail's id, written "ACCOUNT.GMAILID" in the API.
type Key struct {
	Account int64
	ID      string
}

func (k Key) String() string { return strconv.FormatInt(k.Account, 10) + "." + k.ID }

var gmailID = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// ParseKey reads "ACCOUNT.GMAILID"; field names the input in errors.
func ParseKey(s, field string) (Key, error) {
	acct, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(acct, 10, 64)
	if !ok || err != nil || n <= 0 || !gmailID.MatchString(id) {
		return Key{}, inbox.Invalid(field, "%q is not a message id; ids look like 12.18c3f0a9b2e4d5f6 (account, then Gmail's id)", s)
	}
	return Key{Account: n, ID: id}, nil
}

// Filter selects messages.
type Filter struct {
	Account    *int64
	Category   string // a category, "unclassified", or "" for all
	Sender     string
	Label      string
	UnreadOnly bool
	Since      *time.Time
	Until      *time.Time
	Query      string // PostgreSQL web search syntax over subject, sender and snippet
}

// Message is a stored message as people see it.
type Message struct {
	Key
	ThreadID   string
	From, To   string
	Subject    string
	Snippet    string
	Date       time.Time
	Labels     []string
	Category   string // shown: the correction, else the machine's; "" before classification
	Confidence *float32
	Source     string // rule, model, llm, person; "" before classification
	Rule       string
}

func shown(category, corrected *string, confidence *float32, source *string, rule string) (string, *float32, string, string) {
	if corrected != nil {
		one := float32(1)
		return *corrected, &one, string(classify.SourcePerson), ""
	}
	s := ""
	if source != nil {
		s = *source
	}
	c := ""
	if category != nil {
		c = *category
	}
	return c, confidence, s, rule
}

// List returns a page of the owner's messages, newest first, and the
// cursor of the next page ("" on the last).
func (s Service) List(ctx context.Context, owner int64, f Filter, cursor string, limit int) ([]Message, string, error) {
	if f.Category != "" && f.Category != "unclassified" {
		if _, ok := classify.ParseCategory(f.Category); !ok {
			return nil, "", inbox.Invalid("query.category", "unknown category %q", f.Category)
		}
	}
	p := dbsqlc.MessageListParams{OwnerID: owner, AccountID: f.Account, Category: f.Category, Sender: f.Sender,
		Label: f.Label, UnreadOnly: f.UnreadOnly, Since: f.Since, Until: f.Until, Query: f.Query, MaxRows: int32(limit + 1)}
	if cursor != "" {
		c, err := DecodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		p.CursorDate, p.CursorAccount, p.CursorID = &c.date, c.account, c.id
	}
	rows, err := s.Store.MessageList(ctx, p)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = encodeCursor(cursorPos{date: last.InternalDate, account: last.AccountID, id: last.ID})
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		m := Message{Key: Key{r.AccountID, r.ID}, ThreadID: r.ThreadID, From: r.FromAddr, To: r.ToAddr, Subject: r.Subject,
			Snippet: r.Snippet, Date: r.InternalDate, Labels: r.LabelIds}
		m.Category, m.Confidence, m.Source, m.Rule = shown(r.ShownCategory, r.CorrectedCategory, r.Confidence, r.CategorySource, r.CategoryRule)
		if r.CorrectedCategory == nil && r.ShownCategory == nil {
			m.Source = ""
		}
		out[i] = m
	}
	return out, next, nil
}

// cursorPos is where a page ends: the keyset of MessageList.
type cursorPos struct {
	date    time.Time
	account int64
	id      string
}

func encodeCursor(c cursorPos) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "m%d:%d:%s", c.date.UnixMicro(), c.account, c.id))
}

// DecodeCursor reads a cursor List returned (inbox.ErrInvalid if it is not one).
func DecodeCursor(s string) (cursorPos, error) {
	bad := inbox.Invalid("cursor", "cursor %q is not one this API returned", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < 2 || raw[0] != 'm' {
		return cursorPos{}, bad
	}
	parts := strings.SplitN(string(raw[1:]), ":", 3)
	if len(parts) != 3 {
		return cursorPos{}, bad
	}
	us, err1 := strconv.ParseInt(parts[0], 10, 64)
	acct, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || !gmailID.MatchString(parts[2]) {
		return cursorPos{}, bad
	}
	return cursorPos{date: time.UnixMicro(us).UTC(), account: acct, id: parts[2]}, nil
}

// Detail is one message with why it got its category.
type Detail struct {
	Message
	ListUnsubscribe, ListID, Precedence, AuthResults string
	// Machine is the classifier's own decision, also when a person
	// corrected it.
	Machine         string
	SpamProbability *float32
	ModelVersion    string
	ClassifiedAt    *time.Time
	CorrectedAt     *time.Time
	// Why says in a sentence what decided; Features are the words that
	// weighed most in the spam model's score.
	Why      string
	Features []classify.Feature
}

// Get returns one of the owner's messages with its explanation.
func (s Service) Get(ctx context.Context, owner int64, k Key) (Detail, error) {
	r, err := s.Store.MessageGet(ctx, owner, k.Account, k.ID)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Message: Message{Key: k, ThreadID: r.ThreadID, From: r.FromAddr, To: r.ToAddr, Subject: r.Subject,
		Snippet: r.Snippet, Date: r.InternalDate, Labels: r.LabelIds},
		ListUnsubscribe: r.ListUnsubscribe, ListID: r.ListID, Precedence: r.Precedence, AuthResults: r.AuthResults,
		SpamProbability: r.SpamProbability, ModelVersion: r.ModelVersion, ClassifiedAt: r.ClassifiedAt, CorrectedAt: r.CorrectedAt}
	if r.Category != nil {
		d.Machine = *r.Category
	}
	d.Category, d.Confidence, d.Source, d.Rule = shown(r.Category, r.CorrectedCategory, r.Confidence, r.CategorySource, r.CategoryRule)
	if r.Category == nil && r.CorrectedCategory == nil {
		d.Source = ""
	}
	msg := jobs.Message(store.ClassifyRow{From: r.FromAddr, Subject: r.Subject, Snippet: r.Snippet, Labels: r.LabelIds,
		ListUnsubscribe: r.ListUnsubscribe, ListID: r.ListID, ListPost: r.ListPost, Precedence: r.Precedence})
	d.Features = s.Classifier.Model().Explain(msg, 6)
	d.Why = why(d, r.CorrectedCategory != nil)
	return d, nil
}

// title is a category's name for people.
func title(c string) string {
	if c == "" {
		return ""
	}
	return strings.ToUpper(c[:1]) + c[1:]
}

// why says in a sentence what decided a message's category.
func why(d Detail, corrected bool) string {
	pct := func(f *float32) string {
		if f == nil {
			return ""
		}
		return fmt.Sprintf(" (%.0f%% sure)", *f*100)
	}
	if corrected {
		s := "You put it in " + title(d.Category) + "."
		if d.Machine != "" && d.Machine != d.Category {
			s += " The classifier had said " + title(d.Machine) + "."
		}
		return s
	}
	rule, arg, _ := strings.Cut(d.Rule, ":")
	switch {
	case d.Machine == "":
		return "Not classified yet: it is classified after the sync that stored it."
	case d.Source == string(classify.SourceLLM):
		return "The spam model was unsure, so the LLM decided: " + title(d.Category) + pct(d.Confidence) + "."
	case rule == "sender-rule":
		return "Your rule puts mail from " + arg + " in " + title(d.Category) + "."
	case rule == "gmail-label":
		return "Gmail labelled it " + arg + "."
	case rule == "sender-reputation" && d.Category == string(classify.Spam):
		return "The spam model was unsure, and " + arg + " has a poor reputation with you (see Senders), so it is spam" + pct(d.Confidence) + "."
	case rule == "sender-reputation":
		return "The spam model leaned to spam, but " + arg + " has a good reputation with you (see Senders), so it stays in " + title(d.Category) + "."
	case rule == "user-model":
		return "Your own model, learned from your corrections, put it in " + title(d.Category) + pct(d.Confidence) + "."
	case rule == "newsletter-list":
		return "Gmail filed it under Promotions or Updates, and its List-Id (with no offer in the subject) says it is a newsletter."
	case rule == "social-sender":
		return "It comes from a social network."
	case rule == "mailing-list":
		return "It comes from a discussion list (it has a List-Post header)."
	case rule == "bulk-promotion":
		return "Bulk mail (List-Unsubscribe, List-Id or Precedence: bulk) whose subject reads like an offer."
	case rule == "bulk-sender":
		return "Bulk mail: it has a List-Unsubscribe or List-Id header, or Precedence: bulk."
	case rule == "no-reply-sender":
		return "Sent from an address that takes no replies: an automatic update."
	case d.Category == string(classify.Spam):
		return "The spam model scored it as spam" + pct(d.Confidence) + "; the words that weighed most are listed."
	}
	return "Nothing marks it as bulk mail or spam, so it stays in Primary" + pct(d.Confidence) + "."
}

// Count is one category's messages.
type Count struct {
	Category string // "" for not yet classified
	Messages int64
	Unread   int64
}

// Counts returns the owner's messages per category.
func (s Service) Counts(ctx context.Context, owner int64, account *int64) ([]Count, error) {
	rows, err := s.Store.MessageCategoryCounts(ctx, owner, account)
	if err != nil {
		return nil, err
	}
	out := make([]Count, len(rows))
	for i, r := range rows {
		out[i] = Count{Category: r.Category, Messages: r.Messages, Unread: r.Unread}
	}
	return out, nil
}

// Always says what a correction teaches beyond the message.
type Always string

// What a correction may teach: nothing more, the sender's address, or its
// domain.
const (
	AlwaysNone   Always = ""
	AlwaysSender Always = "sender"
	AlwaysDomain Always = "domain"
)

// Correction is a person's category for messages.
type Correction struct {
	Keys []Key
	// Category is the category to show; "" clears the correction.
	Category string
	Always   Always
}

// Corrected is what a correction did.
type Corrected struct {
	Updated []Key
	Missing []Key
	Rule    *store.ClassifyRule
	// TaskID is the reclassify_with_feedback task that learns from it.
	TaskID int64
}

// MaxKeys bounds one correction, as every bulk target is bounded.
const MaxKeys = 1000

// Correct stores a correction at once (it shows as the category), adds the
// sender rule it asks for, and starts (or joins) the owner's
// reclassify_with_feedback a few seconds later, all in one transaction.
func (s Service) Correct(ctx context.Context, owner int64, c Correction) (Corrected, error) {
	var out Corrected
	if len(c.Keys) == 0 || len(c.Keys) > MaxKeys {
		return out, inbox.Invalid("ids", "give 1 to %d message ids", MaxKeys)
	}
	var cat *string
	if c.Category != "" {
		if _, ok := classify.ParseCategory(c.Category); !ok {
			return out, inbox.Invalid("category", "unknown category %q", c.Category)
		}
		cat = &c.Category
	}
	if c.Always != AlwaysNone && (cat == nil || len(c.Keys) != 1) {
		return out, inbox.Invalid("always", "a sender rule needs one message and a category")
	}
	byAccount := map[int64][]string{}
	for _, k := range c.Keys {
		byAccount[k.Account] = append(byAccount[k.Account], k.ID)
	}
	err := s.Store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		for acct, ids := range byAccount {
			if _, err := st.AccountGet(ctx, acct, &owner); err != nil {
				for _, id := range ids {
					out.Missing = append(out.Missing, Key{acct, id})
				}
				continue
			}
			got, err := st.MessageSetCorrection(ctx, acct, ids, cat)
			if err != nil {
				return err
			}
			found := map[string]bool{}
			for _, id := range got {
				found[id] = true
				out.Updated = append(out.Updated, Key{acct, id})
			}
			for _, id := range ids {
				if !found[id] {
					out.Missing = append(out.Missing, Key{acct, id})
				}
			}
		}
		if len(out.Updated) == 0 {
			return fmt.Errorf("no such message: %w", inbox.ErrNotFound)
		}
		if c.Always != AlwaysNone {
			r, err := st.MessageGet(ctx, owner, out.Updated[0].Account, out.Updated[0].ID)
			if err != nil {
				return err
			}
			_, addr := classify.SplitFrom(r.FromAddr)
			sender := addr
			if c.Always == AlwaysDomain {
				_, sender, _ = strings.Cut(addr, "@")
			}
			if sender == "" {
				return inbox.Invalid("always", "the message has no sender address to make a rule of")
			}
			rule, err := st.ClassifyRuleUpsert(ctx, owner, sender, *cat)
			if err != nil {
				return err
			}
			out.Rule = &rule
		}
		id, err := s.relearn(ctx, tx, owner)
		out.TaskID = id
		return err
	})
	return out, err
}

// relearn starts the owner's reclassify_with_feedback a moment from now, or
// returns the one already waiting or running (it starts over if it is
// running: it checks for corrections newer than its start).
func (s Service) relearn(ctx context.Context, tx pgx.Tx, owner int64) (int64, error) {
	opts := jobs.ReclassifyWithFeedbackArgs{}.InsertOpts()
	opts.ScheduledAt = time.Now().Add(jobs.ReclassifyDebounce)
	res, err := s.River.InsertTx(ctx, tx, jobs.ReclassifyWithFeedbackArgs{Owned: jobs.Owned{OwnerID: owner}}, &opts)
	if err != nil {
		return 0, fmt.Errorf("starting reclassify_with_feedback: %w", err)
	}
	return res.Job.ID, nil
}

// Rules lists the owner's sender rules.
func (s Service) Rules(ctx context.Context, owner int64) ([]store.ClassifyRule, error) {
	return s.Store.ClassifyRules(ctx, owner)
}

// DeleteRule deletes one of the owner's rules and re-scores their mail.
func (s Service) DeleteRule(ctx context.Context, owner, id int64) error {
	return s.Store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		if err := st.ClassifyRuleDelete(ctx, owner, id); err != nil {
			return err
		}
		_, err := s.relearn(ctx, tx, owner)
		return err
	})
}

// AddRule makes (or changes) the owner's rule for a sender (an address, or
// a domain, which covers its subdomains) and re-scores their mail with it.
func (s Service) AddRule(ctx context.Context, owner int64, sender, category string) (store.ClassifyRule, error) {
	sender = strings.ToLower(strings.TrimSpace(sender))
	if _, ok := classify.ParseCategory(category); !ok {
		return store.ClassifyRule{}, inbox.Invalid("body.category", "unknown category %q", category)
	}
	local, domain, hasAt := strings.Cut(sender, "@")
	if !hasAt {
		domain = sender
	}
	if sender == "" || domain == "" || (hasAt && local == "") || strings.ContainsAny(sender, " <>,;\"") || !strings.Contains(domain, ".") {
		return store.ClassifyRule{}, inbox.Invalid("body.sender", "%q is neither an address (news@example.com) nor a domain (example.com)", sender)
	}
	var rule store.ClassifyRule
	err := s.Store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		var err error
		if rule, err = st.ClassifyRuleUpsert(ctx, owner, sender, category); err != nil {
			return err
		}
		_, err = s.relearn(ctx, tx, owner)
		return err
	})
	return rule, err
}
