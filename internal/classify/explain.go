package classify

import (
	"cmp"
	"slices"
	"strings"
)

// Feature is one token's part in a model score, for explanations.
type Feature struct {
	Field  string  `json:"field"`
	Token  string  `json:"token"`
	Weight float64 `json:"weight"` // log-odds toward spam; negative toward not spam
}

var fieldNames = map[byte]string{
	fieldSubject: "subject", fieldFrom: "from", fieldDomain: "domain", fieldName: "name",
	fieldBody: "body", fieldType: "content-type", fieldMailer: "mailer", fieldNoSender: "no-sender",
}

// Explain returns the n features that pushed msg's score furthest toward
// the side the model decided (spam or not), each token once. It allocates
// freely: it is for people, not for batches.
func (m *Model) Explain(msg *Message, n int) []Feature {
	spam := m.Score(msg) >= m.Threshold
	seen := map[string]bool{}
	var fs []Feature
	walkFeatures(msg, func(h uint32, field byte, text string) {
		key := string(field) + strings.ToLower(text)
		if seen[key] {
			return
		}
		seen[key] = true
		w := float64(m.weights[h&m.mask]) / weightScale
		if (w > 0) == spam && w != 0 {
			fs = append(fs, Feature{Field: fieldNames[field], Token: strings.ToLower(text), Weight: w})
		}
	})
	slices.SortStableFunc(fs, func(a, b Feature) int {
		if spam {
			return cmp.Compare(b.Weight, a.Weight)
		}
		return cmp.Compare(a.Weight, b.Weight)
	})
	return fs[:min(n, len(fs))]
}

// walkFeatures calls fn for every feature of msg with its hash, field and
// text, in the order and with the hashes that features produces (a test
// holds the two together).
func walkFeatures(msg *Message, fn func(h uint32, field byte, text string)) {
	n := 0
	text := func(s string, field byte) {
		for i := 0; n < maxTokens; {
			start, end := nextToken(s, i)
			if start == len(s) {
				break
			}
			fn(hashToken(s, start, end, field), field, s[start:end])
			n++
			i = end
		}
	}
	whole := func(s string, field byte) {
		if s != "" {
			fn(hashToken(s, 0, len(s), field), field, s)
			n++
		}
	}
	text(msg.Subject, fieldSubject)
	if msg.From == "" {
		whole("none", fieldNoSender)
	}
	text(msg.From, fieldFrom)
	whole(domainOf(msg.From), fieldDomain)
	text(msg.FromName, fieldName)
	whole(msg.ContentType, fieldType)
	text(msg.Mailer, fieldMailer)
	text(msg.Body, fieldBody)
}
