// Package reputation scores a sender (an address or a domain) for one
// person from 0 to 100, with the factors that made the score, from what
// their mail says about it: how much there is, how much of it they open
// and keep, how much they archived or trashed unread, their spam
// corrections, its authentication results and whether it offers
// List-Unsubscribe. It is pure logic: no I/O.
//
// Nothing here reads the classifier's own decisions, so reputation, which
// the classifier uses as a feature, never feeds on itself.
package reputation

import (
	"fmt"
	"math"
	"strings"
)

// Result is one authentication mechanism's outcome.
type Result int8

// The outcomes that count: softfail and permerror count as fail; neutral,
// temperror, policy and an absent result as none.
const (
	None Result = iota
	Pass
	Fail
)

// Auth is what an Authentication-Results header says of a message.
type Auth struct{ SPF, DKIM, DMARC Result }

// ParseAuth reads the spf=, dkim= and dmarc= results of an
// Authentication-Results header (RFC 8601), e.g. "mx.google.com; dkim=pass
// header.i=@x.com; spf=softfail (...) smtp.mailfrom=x.com; dmarc=fail". Of
// several results for one mechanism (two DKIM signatures), a pass wins.
func ParseAuth(h string) Auth {
	var a Auth
	for _, part := range strings.Split(h, ";") {
		for _, f := range strings.Fields(part) {
			name, val, ok := strings.Cut(strings.ToLower(f), "=")
			if !ok {
				continue
			}
			var r *Result
			switch name {
			case "spf":
				r = &a.SPF
			case "dkim":
				r = &a.DKIM
			case "dmarc":
				r = &a.DMARC
			default:
				continue
			}
			v := None
			switch strings.TrimRight(val, ",()") {
			case "pass":
				v = Pass
			case "fail", "softfail", "permerror":
				v = Fail
			}
			if *r != Pass && v != None {
				*r = v
			}
			break // a method's result is the first word of its part
		}
	}
	return a
}

// Verdict sums a message's authentication up: DMARC's result when there is
// one (it checks that SPF or DKIM vouch for the From domain), else pass when
// SPF or DKIM passed, fail when either failed, none without results.
func (a Auth) Verdict() Result {
	switch {
	case a.DMARC != None:
		return a.DMARC
	case a.SPF == Pass || a.DKIM == Pass:
		return Pass
	case a.SPF == Fail || a.DKIM == Fail:
		return Fail
	}
	return None
}

// Message is what one message says about its sender.
type Message struct {
	// Labels are Gmail's label ids (UNREAD, INBOX, TRASH, STARRED, Label_12...).
	Labels []string
	// AuthResults is the Authentication-Results header ("" when absent).
	AuthResults string
	// ListUnsubscribe reports a List-Unsubscribe header.
	ListUnsubscribe bool
	// Corrected is the person's category for it ("" when they made none).
	Corrected string
}

// Evidence counts what a sender's messages say. Evidence of several
// addresses adds up to their domain's (Plus).
type Evidence struct {
	Messages int `json:"messages"`
	// Read carries no UNREAD label.
	Read int `json:"read"`
	// Kept was read and is still in the inbox, or starred, or filed under
	// one of the person's labels.
	Kept int `json:"kept"`
	// DiscardedUnread is unread and archived (out of the inbox, under no
	// label of theirs) or trashed: what a bulk archive or delete of a
	// sender leaves behind.
	DiscardedUnread int `json:"discarded_unread"`
	// CorrectedSpam the person put in spam; CorrectedNotSpam in any other
	// category.
	CorrectedSpam    int `json:"corrected_spam"`
	CorrectedNotSpam int `json:"corrected_not_spam"`
	// AuthPass and AuthFail count messages by Verdict; the rest carried no
	// results. The mechanisms' own failures say which failed.
	AuthPass  int `json:"auth_pass"`
	AuthFail  int `json:"auth_fail"`
	SPFFail   int `json:"spf_fail"`
	DKIMFail  int `json:"dkim_fail"`
	DMARCFail int `json:"dmarc_fail"`
	// ListUnsubscribe carried a List-Unsubscribe header.
	ListUnsubscribe int `json:"list_unsubscribe"`
}

// Add counts one message.
func (e *Evidence) Add(m Message) {
	e.Messages++
	var unread, inInbox, trashed, starred, userLabel bool
	for _, l := range m.Labels {
		switch l {
		case "UNREAD":
			unread = true
		case "INBOX":
			inInbox = true
		case "TRASH":
			trashed = true
		case "STARRED":
			starred = true
		default:
			userLabel = userLabel || strings.HasPrefix(l, "Label_")
		}
	}
	switch {
	case unread && (trashed || !inInbox && !userLabel && !starred):
		e.DiscardedUnread++
	case !unread:
		e.Read++
		if !trashed && (inInbox || starred || userLabel) {
			e.Kept++
		}
	}
	switch {
	case m.Corrected == "spam":
		e.CorrectedSpam++
	case m.Corrected != "":
		e.CorrectedNotSpam++
	}
	a := ParseAuth(m.AuthResults)
	switch a.Verdict() {
	case Pass:
		e.AuthPass++
	case Fail:
		e.AuthFail++
	}
	if a.SPF == Fail {
		e.SPFFail++
	}
	if a.DKIM == Fail {
		e.DKIMFail++
	}
	if a.DMARC == Fail {
		e.DMARCFail++
	}
	if m.ListUnsubscribe {
		e.ListUnsubscribe++
	}
}

// Plus returns the evidence of both.
func (e Evidence) Plus(o Evidence) Evidence {
	return Evidence{Messages: e.Messages + o.Messages, Read: e.Read + o.Read, Kept: e.Kept + o.Kept,
		DiscardedUnread: e.DiscardedUnread + o.DiscardedUnread, CorrectedSpam: e.CorrectedSpam + o.CorrectedSpam,
		CorrectedNotSpam: e.CorrectedNotSpam + o.CorrectedNotSpam, AuthPass: e.AuthPass + o.AuthPass, AuthFail: e.AuthFail + o.AuthFail,
		SPFFail: e.SPFFail + o.SPFFail, DKIMFail: e.DKIMFail + o.DKIMFail, DMARCFail: e.DMARCFail + o.DMARCFail,
		ListUnsubscribe: e.ListUnsubscribe + o.ListUnsubscribe}
}

// Factor is one reason in a score.
type Factor struct {
	// Name is the factor's stable name: volume, opened, kept,
	// discarded_unread, corrections, authentication, list_unsubscribe.
	Name string `json:"name"`
	// Points is what it added to the score's log-odds (negative lowers it).
	Points float64 `json:"points"`
	// Says is the factor in words.
	Says string `json:"says"`
}

// Reputation is a sender's score and its reasons.
type Reputation struct {
	// Score is 0 (unwanted, likely spam) to 100 (wanted, trusted); 50
	// means nothing is known.
	Score   int      `json:"score"`
	Factors []Factor `json:"factors"`
}

// The weights of the formula (see Score).
const (
	// prior is the pseudo-count of each share's smoothing: a sender with
	// few messages stays near the middle.
	prior          = 4.0
	weightOpened   = 2.0
	weightKept     = 1.5
	weightDiscard  = 2.0
	weightCorrect  = 4.0
	weightAuthPass = 1.0
	weightAuthFail = 2.5
	weightUnsub    = 0.5
)

// Score computes a reputation from evidence:
//
//	score = round(100 · σ(Σ points))            σ(x) = 1 / (1 + e^−x)
//
// Each share is smoothed toward its neutral value with prior = 4
// pseudo-messages, so one unread message barely moves a score and a
// hundred do. With n messages:
//
//	opened          2.0 · (2·(read + 2)/(n + 4) − 1)              −2 … +2
//	kept            1.5 · (2·(kept + 2)/(read + 4) − 1)           −1.5 … +1.5
//	discarded       −2.0 · discarded_unread/(n + 4)               −2 … 0
//	corrections     4.0 · (not_spam − spam)/(not_spam + spam + 1) −4 … +4
//	authentication  (1.0 · pass − 2.5 · fail)/(pass + fail + 2)   −2.5 … +1
//	unsubscribe     0.5 · list_unsubscribe/(n + 4)                0 … +0.5
//
// Kept is a share of what was read, so unread mail counts once (opened),
// not twice.
//
// Volume adds no points of its own: it is how much the shares count.
// Failing authentication weighs more than passing it: spammers pass SPF
// for domains of their own, but a failure is rarely innocent.
func Score(e Evidence) Reputation {
	n := float64(e.Messages)
	share := func(k, of int) float64 { return (float64(k) + prior/2) / (float64(of) + prior) }
	pct := func(k int) string {
		if e.Messages == 0 {
			return "0%"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(k)/n)
	}
	fs := []Factor{{Name: "volume", Says: volumeSays(e.Messages)}}
	fs = append(fs, Factor{Name: "opened", Points: weightOpened * (2*share(e.Read, e.Messages) - 1),
		Says: fmt.Sprintf("You opened %s of it (%d of %d).", pct(e.Read), e.Read, e.Messages)})
	fs = append(fs, Factor{Name: "kept", Points: weightKept * (2*share(e.Kept, e.Read) - 1),
		Says: fmt.Sprintf("Of what you read, you kept %d of %d (in the inbox, starred or under a label of yours).", e.Kept, e.Read)})
	disc := Factor{Name: "discarded_unread", Points: -weightDiscard * float64(e.DiscardedUnread) / (n + prior),
		Says: "You never archived or deleted any of it unread."}
	if e.DiscardedUnread > 0 {
		disc.Says = fmt.Sprintf("You archived or deleted %d messages unread (%s), by hand or with a bulk action.", e.DiscardedUnread, pct(e.DiscardedUnread))
	}
	fs = append(fs, disc)
	corr := Factor{Name: "corrections", Says: "You never corrected its category."}
	if c := e.CorrectedSpam + e.CorrectedNotSpam; c > 0 {
		corr.Points = weightCorrect * float64(e.CorrectedNotSpam-e.CorrectedSpam) / float64(c+1)
		corr.Says = fmt.Sprintf("You marked %d of its messages as spam and put %d elsewhere.", e.CorrectedSpam, e.CorrectedNotSpam)
	}
	fs = append(fs, corr)
	auth := Factor{Name: "authentication", Says: "Its headers carry no authentication results (usual inside an organisation)."}
	if c := e.AuthPass + e.AuthFail; c > 0 {
		auth.Points = (weightAuthPass*float64(e.AuthPass) - weightAuthFail*float64(e.AuthFail)) / float64(c+2)
		auth.Says = fmt.Sprintf("Authentication passed on %d and failed on %d of %d messages", e.AuthPass, e.AuthFail, e.Messages)
		var failed []string
		for _, m := range []struct {
			name string
			n    int
		}{{"SPF", e.SPFFail}, {"DKIM", e.DKIMFail}, {"DMARC", e.DMARCFail}} {
			if m.n > 0 {
				failed = append(failed, fmt.Sprintf("%s %d", m.name, m.n))
			}
		}
		if len(failed) > 0 {
			auth.Says += " (failures: " + strings.Join(failed, ", ") + ")"
		}
		auth.Says += "."
	}
	fs = append(fs, auth)
	unsub := Factor{Name: "list_unsubscribe", Points: weightUnsub * float64(e.ListUnsubscribe) / (n + prior),
		Says: "None of it offers List-Unsubscribe."}
	if e.ListUnsubscribe > 0 {
		unsub.Says = fmt.Sprintf("%s of it offers List-Unsubscribe, as honest bulk senders must.", pct(e.ListUnsubscribe))
	}
	fs = append(fs, unsub)
	var sum float64
	for i := range fs {
		fs[i].Points = math.Round(fs[i].Points*100) / 100
		sum += fs[i].Points
	}
	return Reputation{Score: int(math.Round(100 / (1 + math.Exp(-sum)))), Factors: fs}
}

func volumeSays(n int) string {
	switch {
	case n == 1:
		return "One message: too little to say much."
	case n < 5:
		return fmt.Sprintf("%d messages: too few to say much.", n)
	}
	return fmt.Sprintf("%d messages: the shares below count fully.", n)
}

// The bounds at which classification leans on a sender's reputation (see
// Lean).
const (
	LowScore  = 20
	HighScore = 80
	// MinMessages is the least volume a leaning score needs.
	MinMessages = 3
)

// Lean is how much a sender's reputation moves the spam model's score, in
// log-odds toward spam: +LeanPoints for a score at or under LowScore,
// −LeanPoints at or over HighScore, else 0. Only calls near the model's
// threshold (the unsure ones) change.
func Lean(score int) float64 {
	switch {
	case score <= LowScore:
		return LeanPoints
	case score >= HighScore:
		return -LeanPoints
	}
	return 0
}

// LeanPoints is the size of Lean.
const LeanPoints = 2.0
