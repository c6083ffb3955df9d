package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/reputation"
	"github.com/inboxq/inboxq/internal/store"
)

// Sender is a sender's reputation with the caller.
type Sender struct {
	ID               int64     `json:"id" doc:"Sender id"`
	Kind             string    `json:"kind" enum:"address,domain" doc:"An address, or a domain (all its addresses' mail together)"`
	Sender           string    `json:"sender" doc:"The address or domain, lower case"`
	Domain           string    `json:"domain" doc:"The domain (the sender itself for a domain)"`
	Score            int       `json:"score" minimum:"0" maximum:"100" doc:"Reputation, 0 (unwanted, likely spam) to 100 (wanted, trusted); 50 when little is known"`
	Messages         int       `json:"messages" doc:"Your messages from it (your own sent mail left out)"`
	Read             int       `json:"read" doc:"Of those, opened (no UNREAD label)"`
	Kept             int       `json:"kept" doc:"Opened and still in the inbox, starred or under a label of yours"`
	DiscardedUnread  int       `json:"discarded_unread" doc:"Archived or trashed while unread, by hand or with a bulk action"`
	CorrectedSpam    int       `json:"corrected_spam" doc:"You put in spam"`
	CorrectedNotSpam int       `json:"corrected_not_spam" doc:"You put in a category other than spam"`
	AuthPass         int       `json:"auth_pass" doc:"Passed authentication (DMARC, else SPF or DKIM) in Authentication-Results"`
	AuthFail         int       `json:"auth_fail" doc:"Failed authentication"`
	ListUnsubscribe  int       `json:"list_unsubscribe" doc:"Carried a List-Unsubscribe header"`
	LastMessageAt    time.Time `json:"last_message_at" doc:"When its newest message was received"`
	UpdatedAt        time.Time `json:"updated_at" doc:"When update_sender_reputation last changed this score"`
}

// SenderFactor is one reason in a sender's score.
type SenderFactor struct {
	Name   string  `json:"name" enum:"volume,opened,kept,discarded_unread,corrections,authentication,list_unsubscribe" doc:"The factor"`
	Points float64 `json:"points" doc:"What it added to the score in log-odds (negative lowers it); the score is 100·σ(sum of points)"`
	Says   string  `json:"says" doc:"The factor in words"`
}

// SenderDetail is a sender with the factors of its score.
type SenderDetail struct {
	Sender
	SPFFail   int            `json:"spf_fail" doc:"Messages whose SPF check failed"`
	DKIMFail  int            `json:"dkim_fail" doc:"Messages whose DKIM check failed"`
	DMARCFail int            `json:"dmarc_fail" doc:"Messages whose DMARC check failed"`
	Factors   []SenderFactor `json:"factors" doc:"What made the score, in the order of the formula"`
	Leans     string         `json:"leans" enum:"spam,not_spam,none" doc:"How classification leans on it: the spam model's unsure calls on its mail go to spam, stay out of spam, or are left alone"`
}

func senderOf(s store.Sender) Sender {
	return Sender{ID: s.ID, Kind: s.Kind, Sender: s.Key, Domain: s.Domain, Score: int(s.Score), Messages: int(s.Messages),
		Read: int(s.Read), Kept: int(s.Kept), DiscardedUnread: int(s.DiscardedUnread), CorrectedSpam: int(s.CorrectedSpam),
		CorrectedNotSpam: int(s.CorrectedNotSpam), AuthPass: int(s.AuthPass), AuthFail: int(s.AuthFail),
		ListUnsubscribe: int(s.ListUnsubscribe), LastMessageAt: s.LastMessageAt, UpdatedAt: s.UpdatedAt}
}

// SenderListInput filters, sorts and pages the caller's senders.
type SenderListInput struct {
	PageInput
	Kind string `query:"kind" enum:"address,domain" doc:"Only addresses or only domains (absent: both)"`
	Sort string `query:"sort" enum:"score,score_desc,volume" default:"score" doc:"score: lowest first; score_desc: highest first; volume: most messages first"`
}

// SenderListOutput is a page of senders.
type SenderListOutput struct {
	Body struct {
		Senders    []Sender `json:"senders" doc:"In the order asked for, then by id"`
		NextCursor string   `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

// SenderIDInput names a sender.
type SenderIDInput struct {
	ID int64 `path:"id" minimum:"1" doc:"Sender id"`
}

// SenderOutput is one sender.
type SenderOutput struct {
	Body SenderDetail
}

// encodeSenderCursor makes the senders list's keyset cursor: the sort key
// and id of a page's last row.
func encodeSenderCursor(key int32, id int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "r%d:%d", key, id))
}

// decodeSenderCursor reads a cursor encodeSenderCursor made.
func decodeSenderCursor(c string) (int32, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && len(raw) > 1 && raw[0] == 'r' {
		k, i, ok := strings.Cut(string(raw[1:]), ":")
		key, err1 := strconv.ParseInt(k, 10, 32)
		id, err2 := strconv.ParseInt(i, 10, 64)
		if ok && err1 == nil && err2 == nil && id > 0 {
			return int32(key), id, nil
		}
	}
	return 0, 0, inbox.Invalid("cursor", "cursor %q is not one this API returned", c)
}

// sortKey is a row's key under sort, as SenderList orders.
func sortKey(sort string, s store.Sender) int32 {
	switch sort {
	case "volume":
		return -s.Messages
	case "score_desc":
		return -int32(s.Score)
	}
	return int32(s.Score)
}

func registerSenders(api huma.API, d Deps) {
	if d.Messages == nil {
		return
	}
	st := d.Messages.Store
	tags := []string{"Senders"}
	huma.Register(api, huma.Operation{
		OperationID: "list-senders", Method: http.MethodGet, Path: Prefix + "/senders",
		Summary: "List your senders by reputation",
		Description: "Each address and domain you get mail from, with its reputation (0-100) and the counts it comes from. " +
			"update_sender_reputation computes them after your mail is classified.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *SenderListInput) (*SenderListOutput, error) {
		p := store.SenderListParams{UserID: principal(ctx).UserID, Kind: in.Kind, Sort: in.Sort, AfterKey: -1 << 30,
			MaxRows: int32(in.Limit + 1)}
		if in.Cursor != "" {
			k, id, err := decodeSenderCursor(in.Cursor)
			if err != nil {
				return nil, badCursor(in.Cursor)
			}
			p.AfterKey, p.AfterID = k, id
		}
		rows, err := st.SenderList(ctx, p)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &SenderListOutput{}
		if len(rows) > in.Limit {
			rows = rows[:in.Limit]
			last := rows[len(rows)-1]
			out.Body.NextCursor = encodeSenderCursor(sortKey(in.Sort, last), last.ID)
		}
		out.Body.Senders = make([]Sender, len(rows))
		for i, r := range rows {
			out.Body.Senders[i] = senderOf(r)
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-sender", Method: http.MethodGet, Path: Prefix + "/senders/{id}",
		Summary:     "Get a sender's reputation and why",
		Description: "The sender's score, the counts it comes from, each factor's points and what it says, and how classification leans on it.",
		Tags:        tags, Security: bearer, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *SenderIDInput) (*SenderOutput, error) {
		s, err := st.SenderGet(ctx, principal(ctx).UserID, in.ID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		var fs []reputation.Factor
		if err := json.Unmarshal(s.Factors, &fs); err != nil {
			return nil, problem(ctx, d.Logger, fmt.Errorf("reading factors of sender %d: %w", s.ID, err))
		}
		out := &SenderOutput{Body: SenderDetail{Sender: senderOf(s), SPFFail: int(s.SpfFail), DKIMFail: int(s.DkimFail),
			DMARCFail: int(s.DmarcFail), Factors: make([]SenderFactor, len(fs)), Leans: "none"}}
		for i, f := range fs {
			out.Body.Factors[i] = SenderFactor{Name: f.Name, Points: f.Points, Says: f.Says}
		}
		if s.Messages >= reputation.MinMessages {
			switch l := reputation.Lean(int(s.Score)); {
			case l > 0:
				out.Body.Leans = "spam"
			case l < 0:
				out.Body.Leans = "not_spam"
			}
		}
		return out, nil
	})
}
