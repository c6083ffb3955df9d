package reputation_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/reputation"
)

const (
	gmailPass = "mx.google.com; dkim=pass header.i=@shop.example header.s=s1 header.b=abc; spf=pass (google.com: domain of news@shop.example designates 203.0.113.5 as permitted sender) smtp.mailfrom=news@shop.example; dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=shop.example"
	gmailFail = "mx.google.com; dkim=fail header.i=@x1.test; spf=softfail (google.com: domain of transitioning info@x1.test does not designate 198.51.100.7 as permitted sender) smtp.mailfrom=info@x1.test; dmarc=fail (p=NONE sp=NONE dis=NONE) header.from=x1.test"
)

func TestParseAuth(t *testing.T) {
	t.Parallel()
	P, F, N := reputation.Pass, reputation.Fail, reputation.None
	for _, c := range []struct {
		h       string
		want    reputation.Auth
		verdict reputation.Result
	}{
		{gmailPass, reputation.Auth{SPF: P, DKIM: P, DMARC: P}, P},
		{gmailFail, reputation.Auth{SPF: F, DKIM: F, DMARC: F}, F},
		{"", reputation.Auth{}, N},
		{"mx.example; spf=neutral smtp.mailfrom=a@b", reputation.Auth{}, N},
		{"mx.example; spf=permerror; dkim=none", reputation.Auth{SPF: F}, F},
		// Two signatures: one passing is enough.
		{"mx.example; dkim=fail header.d=a; dkim=pass header.d=b", reputation.Auth{DKIM: P}, P},
		// DMARC decides when present: SPF passed for the spammer's own
		// envelope domain, not the From domain.
		{"mx.example; SPF=Pass smtp.mailfrom=bulk.test; DMARC=fail header.from=bank.example", reputation.Auth{SPF: P, DMARC: F}, F},
		{"mx.example;\r\n\tspf=softfail (reason);\r\n\tdkim=temperror", reputation.Auth{SPF: F}, F},
		// Properties that look like results are not.
		{"mx.example; dkim=pass header.spf=fail", reputation.Auth{DKIM: P}, P},
	} {
		got := reputation.ParseAuth(c.h)
		require.Equal(t, c.want, got, c.h)
		require.Equal(t, c.verdict, got.Verdict(), c.h)
	}
}

func TestEvidenceAdd(t *testing.T) {
	t.Parallel()
	var e reputation.Evidence
	add := func(labels string, auth string, unsub bool, corrected string) {
		e.Add(reputation.Message{Labels: strings.Fields(labels), AuthResults: auth, ListUnsubscribe: unsub, Corrected: corrected})
	}
	add("INBOX CATEGORY_PERSONAL", gmailPass, false, "")   // read, kept
	add("CATEGORY_PERSONAL", "", false, "")                // read, archived
	add("Label_3", "", false, "")                          // read, filed: kept
	add("UNREAD INBOX", gmailFail, true, "spam")           // unread, waiting
	add("UNREAD CATEGORY_PROMOTIONS", gmailFail, true, "") // archived unread
	add("UNREAD TRASH INBOX", "", true, "")                // trashed unread
	add("TRASH", "", false, "newsletters")                 // read, trashed: not kept
	add("UNREAD Label_9", "mx; spf=fail", false, "")       // unread but filed
	require.Equal(t, reputation.Evidence{Messages: 8, Read: 4, Kept: 2, DiscardedUnread: 2, CorrectedSpam: 1, CorrectedNotSpam: 1,
		AuthPass: 1, AuthFail: 3, SPFFail: 3, DKIMFail: 2, DMARCFail: 2, ListUnsubscribe: 3}, e)
	require.Equal(t, 16, e.Plus(e).Messages)
	require.Equal(t, 6, e.Plus(e).AuthFail)
}

func evidence(n int, labels, auth string, unsub bool, corrected string, correctedN int) reputation.Evidence {
	var e reputation.Evidence
	for i := range n {
		c := ""
		if i < correctedN {
			c = corrected
		}
		e.Add(reputation.Message{Labels: strings.Fields(labels), AuthResults: auth, ListUnsubscribe: unsub, Corrected: c})
	}
	return e
}

func TestScoreOrdersSenders(t *testing.T) {
	t.Parallel()
	colleague := reputation.Score(evidence(30, "INBOX", "", false, "", 0))
	newsletterRead := reputation.Score(evidence(30, "INBOX CATEGORY_PROMOTIONS", gmailPass, true, "", 0))
	newsletterIgnored := reputation.Score(evidence(30, "UNREAD INBOX CATEGORY_PROMOTIONS", gmailPass, true, "", 0))
	bulkArchived := reputation.Score(evidence(30, "UNREAD CATEGORY_PROMOTIONS", gmailPass, true, "", 0))
	spammer := reputation.Score(evidence(10, "UNREAD INBOX CATEGORY_PERSONAL", gmailFail, false, "", 0))
	corrected := reputation.Score(evidence(10, "UNREAD INBOX CATEGORY_PERSONAL", gmailFail, false, "spam", 3))
	unknown := reputation.Score(reputation.Evidence{})
	one := reputation.Score(evidence(1, "UNREAD INBOX", "", false, "", 0))

	require.Equal(t, 50, unknown.Score, "no evidence: the middle")
	require.InDelta(t, 50, one.Score, 12, "one unread message barely moves it")
	require.Greater(t, colleague.Score, 80)
	require.Greater(t, newsletterRead.Score, newsletterIgnored.Score)
	require.Greater(t, newsletterIgnored.Score, bulkArchived.Score, "archived unread is worse than left unread")
	require.Greater(t, bulkArchived.Score, spammer.Score, "failing authentication is worse still")
	require.Greater(t, spammer.Score, corrected.Score, "corrections as spam lower it")
	require.Less(t, spammer.Score, reputation.LowScore)
	require.Less(t, corrected.Score, 5)

	// Corrections out of spam raise it.
	rescued := reputation.Score(evidence(10, "UNREAD INBOX CATEGORY_PERSONAL", gmailFail, false, "primary", 3))
	require.Greater(t, rescued.Score, spammer.Score+10)
}

func TestScoreExplains(t *testing.T) {
	t.Parallel()
	r := reputation.Score(evidence(10, "UNREAD INBOX CATEGORY_PERSONAL", gmailFail, false, "spam", 2))
	byName := map[string]reputation.Factor{}
	var sum float64
	for _, f := range r.Factors {
		byName[f.Name] = f
		sum += f.Points
		require.NotEmpty(t, f.Says, f.Name)
	}
	require.Len(t, byName, 7)
	require.Zero(t, byName["volume"].Points)
	require.Contains(t, byName["volume"].Says, "10 messages")
	require.Equal(t, "You opened 0% of it (0 of 10).", byName["opened"].Says)
	require.Negative(t, byName["opened"].Points)
	require.Equal(t, "You marked 2 of its messages as spam and put 0 elsewhere.", byName["corrections"].Says)
	require.InDelta(t, -4.0*2/3, byName["corrections"].Points, 0.01)
	require.Equal(t, "Authentication passed on 0 and failed on 10 of 10 messages (failures: SPF 10, DKIM 10, DMARC 10).", byName["authentication"].Says)
	require.InDelta(t, -2.5*10/12, byName["authentication"].Points, 0.01)
	require.Zero(t, byName["list_unsubscribe"].Points)
	// The score is the logistic of the points.
	want := 100 / (1 + expNeg(sum))
	require.InDelta(t, want, float64(r.Score), 0.5)
}

func expNeg(x float64) float64 {
	// e^-x without importing math twice in the assertions above.
	r, term := 1.0, 1.0
	for i := 1; i < 60; i++ {
		term *= -x / float64(i)
		r += term
	}
	return r
}

func TestLean(t *testing.T) {
	t.Parallel()
	require.Equal(t, reputation.LeanPoints, reputation.Lean(3))
	require.Equal(t, reputation.LeanPoints, reputation.Lean(reputation.LowScore))
	require.Zero(t, reputation.Lean(50))
	require.Equal(t, -reputation.LeanPoints, reputation.Lean(reputation.HighScore))
}
