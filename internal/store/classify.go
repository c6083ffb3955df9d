package store

import (
	"context"
	"errors"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// ClassifyRow is what the classifier reads of a stored message, with the
// decision it has now.
type ClassifyRow struct {
	ID                                            string
	From, Subject, Snippet                        string
	Labels                                        []string
	ListUnsubscribe, ListID, ListPost, Precedence string
	Category, Source, Rule                        string // the machine's decision; "" before the first
	Corrected                                     string // a person's correction; ""
}

// ClassifyDecision is one message's new machine decision.
type ClassifyDecision struct {
	ID              string
	Category        string
	Confidence      float32
	Source, Rule    string
	SpamProbability float32
	ModelVersion    string
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func classifyRows[R dbsqlc.MessageUnclassifiedRow | dbsqlc.MessageForClassifyRow](rows []R) []ClassifyRow {
	out := make([]ClassifyRow, len(rows))
	for i, r := range rows {
		r := dbsqlc.MessageUnclassifiedRow(r)
		out[i] = ClassifyRow{ID: r.ID, From: r.FromAddr, Subject: r.Subject, Snippet: r.Snippet, Labels: r.LabelIds,
			ListUnsubscribe: r.ListUnsubscribe, ListID: r.ListID, ListPost: r.ListPost, Precedence: r.Precedence,
			Category: deref(r.Category), Source: deref(r.CategorySource), Rule: r.CategoryRule, Corrected: deref(r.CorrectedCategory)}
	}
	return out
}

// MessageUnclassified returns up to limit of an account's messages without
// a decision, after afterID in id order.
func (s *Store) MessageUnclassified(ctx context.Context, account int64, afterID string, limit int) ([]ClassifyRow, error) {
	rows, err := s.q.MessageUnclassified(ctx, dbsqlc.MessageUnclassifiedParams{AccountID: account, AfterID: afterID, MaxRows: int32(limit)})
	return classifyRows(rows), translate(err, "reading messages to classify")
}

// MessageForClassify returns up to limit of an account's messages (all, or
// those of ids) after afterID in id order.
func (s *Store) MessageForClassify(ctx context.Context, account int64, ids []string, afterID string, limit int) ([]ClassifyRow, error) {
	rows, err := s.q.MessageForClassify(ctx, dbsqlc.MessageForClassifyParams{AccountID: account, Ids: nonNil(ids), AfterID: afterID, MaxRows: int32(limit)})
	return classifyRows(rows), translate(err, "reading messages to classify")
}

// MessageClassifyCount counts what a classify task will read: the
// account's unclassified messages when all is false and ids is empty,
// else all of them or those of ids.
func (s *Store) MessageClassifyCount(ctx context.Context, account int64, ids []string, all bool) (int64, error) {
	if len(ids) == 0 && !all {
		n, err := s.q.MessageUnclassifiedCount(ctx, account)
		return n, translate(err, "counting messages to classify")
	}
	n, err := s.q.MessageForClassifyCount(ctx, dbsqlc.MessageForClassifyCountParams{AccountID: account, Ids: nonNil(ids)})
	return n, translate(err, "counting messages to classify")
}

// MessageUnclassifiedBounds returns the last id of each run of size
// messages without a decision, in id order.
func (s *Store) MessageUnclassifiedBounds(ctx context.Context, account int64, size int) ([]string, error) {
	ids, err := s.q.MessageUnclassifiedBounds(ctx, dbsqlc.MessageUnclassifiedBoundsParams{AccountID: account, Size: int64(size)})
	return ids, translate(err, "splitting the messages to classify")
}

// MessageUnclassifiedCountRange counts messages without a decision with
// ids in (after, upTo].
func (s *Store) MessageUnclassifiedCountRange(ctx context.Context, account int64, after, upTo string) (int64, error) {
	n, err := s.q.MessageUnclassifiedCountRange(ctx, dbsqlc.MessageUnclassifiedCountRangeParams{AccountID: account, AfterID: after, UpTo: upTo})
	return n, translate(err, "counting messages to classify")
}

// MessageClassifySave stores decisions; it writes only those that differ
// from the stored ones and returns how many it wrote.
func (s *Store) MessageClassifySave(ctx context.Context, account int64, ds []ClassifyDecision) (int64, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	p := dbsqlc.MessageClassifySaveParams{AccountID: account}
	for _, d := range ds {
		p.Ids = append(p.Ids, d.ID)
		p.Categories = append(p.Categories, d.Category)
		p.Confidences = append(p.Confidences, d.Confidence)
		p.Sources = append(p.Sources, d.Source)
		p.Rules = append(p.Rules, d.Rule)
		p.SpamProbabilities = append(p.SpamProbabilities, d.SpamProbability)
		p.ModelVersions = append(p.ModelVersions, d.ModelVersion)
	}
	n, err := s.q.MessageClassifySave(ctx, p)
	return n, translate(err, "saving classifications")
}

// MessageSetCorrection records a person's category for messages of one
// account (category nil clears the correction); it returns the ids that
// exist.
func (s *Store) MessageSetCorrection(ctx context.Context, account int64, ids []string, category *string) ([]string, error) {
	got, err := s.q.MessageSetCorrection(ctx, dbsqlc.MessageSetCorrectionParams{AccountID: account, Ids: nonNil(ids), Category: category})
	return got, translate(err, "saving corrections")
}

// TrainingRow is a message with the category a model learns for it.
type TrainingRow struct {
	ClassifyRow
	Learn string
}

// MessageCorrections returns the owner's newest corrections.
func (s *Store) MessageCorrections(ctx context.Context, owner int64, limit int) ([]TrainingRow, error) {
	rows, err := s.q.MessageCorrections(ctx, dbsqlc.MessageCorrectionsParams{OwnerID: owner, MaxRows: int32(limit)})
	out := make([]TrainingRow, len(rows))
	for i, r := range rows {
		out[i] = TrainingRow{ClassifyRow: ClassifyRow{From: r.FromAddr, Subject: r.Subject, Snippet: r.Snippet, Labels: r.LabelIds,
			ListUnsubscribe: r.ListUnsubscribe, ListID: r.ListID, ListPost: r.ListPost, Precedence: r.Precedence}, Learn: r.CorrectedCategory}
	}
	return out, translate(err, "reading corrections")
}

// MessageBackground returns the owner's recent mail nobody corrected, from
// senders they never corrected (Learn is empty: the caller labels it).
func (s *Store) MessageBackground(ctx context.Context, owner int64, limit int) ([]TrainingRow, error) {
	rows, err := s.q.MessageBackground(ctx, dbsqlc.MessageBackgroundParams{OwnerID: owner, MaxRows: int32(limit)})
	out := make([]TrainingRow, len(rows))
	for i, r := range rows {
		out[i] = TrainingRow{ClassifyRow: ClassifyRow{From: r.FromAddr, Subject: r.Subject, Snippet: r.Snippet, Labels: r.LabelIds,
			ListUnsubscribe: r.ListUnsubscribe, ListID: r.ListID, ListPost: r.ListPost, Precedence: r.Precedence}, Learn: r.Category}
	}
	return out, translate(err, "reading background mail")
}

// CorrectionsSince reports whether the owner corrected a message or added
// a rule after since.
func (s *Store) CorrectionsSince(ctx context.Context, owner int64, since time.Time) (bool, error) {
	ok, err := s.q.CorrectionsSince(ctx, dbsqlc.CorrectionsSinceParams{OwnerID: owner, Since: &since})
	return ok != nil && *ok, translate(err, "reading corrections")
}

// ClassifyRule is a person's "always put this sender in ...".
type ClassifyRule = dbsqlc.ClassifyRule

// ClassifyRuleUpsert saves a rule (replacing the sender's earlier one).
func (s *Store) ClassifyRuleUpsert(ctx context.Context, user int64, sender, category string) (ClassifyRule, error) {
	r, err := s.q.ClassifyRuleUpsert(ctx, dbsqlc.ClassifyRuleUpsertParams{UserID: user, Sender: sender, Category: category})
	return r, translate(err, "saving rule")
}

// ClassifyRules lists a user's rules by sender.
func (s *Store) ClassifyRules(ctx context.Context, user int64) ([]ClassifyRule, error) {
	rs, err := s.q.ClassifyRuleList(ctx, user)
	return rs, translate(err, "listing rules")
}

// ClassifyRuleDelete deletes one of a user's rules (inbox.ErrNotFound if
// they have no such rule).
func (s *Store) ClassifyRuleDelete(ctx context.Context, user, id int64) error {
	n, err := s.q.ClassifyRuleDelete(ctx, dbsqlc.ClassifyRuleDeleteParams{UserID: user, ID: id})
	if err == nil && n == 0 {
		err = errNoRows
	}
	return translate(err, "deleting rule")
}

// UserModel is a person's stored model.
type UserModel = dbsqlc.UserModel

// UserModelGet returns a user's model; ok is false when they have none.
func (s *Store) UserModelGet(ctx context.Context, user int64) (m UserModel, ok bool, err error) {
	m, err = s.q.UserModelGet(ctx, user)
	if err != nil {
		err = translate(err, "reading user model")
		if errors.Is(err, inbox.ErrNotFound) {
			return m, false, nil
		}
		return m, false, err
	}
	return m, true, nil
}

// UserModelSave stores a user's model.
func (s *Store) UserModelSave(ctx context.Context, user int64, version, examples int, data []byte) error {
	return translate(s.q.UserModelSave(ctx, dbsqlc.UserModelSaveParams{UserID: user, Version: int32(version),
		Examples: int32(examples), Model: data}), "saving user model")
}

// UserModelDelete forgets a user's model (they have no corrections left).
func (s *Store) UserModelDelete(ctx context.Context, user int64) error {
	return translate(s.q.UserModelDelete(ctx, user), "deleting user model")
}
