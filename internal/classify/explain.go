package classify

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Feature is one token's part in a model score, for explanations.
type Feature struct {
	Field  string  `json:"field" doc:"Where the word is: subject, from, domain, name, body, ..."`
	Token  string  `json:"token" doc:"The word (lower case), or a shape such as subject-bangs"`
	Weight float64 `json:"weight" doc:"Log-odds toward spam; negative toward not spam"`
}

var fieldNames = map[byte]string{
	fieldSubject: "subject", fieldFrom: "from", fieldDomain: "domain", fieldName: "name",
	fieldBody: "body", fieldType: "content-type", fieldMailer: "mailer", fieldNoSender: "no-sender",
	fieldTLD: "tld", fieldSite: "site", fieldHeader: "header", fieldShape: "shape", fieldLong: "long-word",
}

// Explain returns the n features that pushed msg's score furthest toward
// the side the model decided (spam or not), each token once. It allocates
// freely: it is for people, not for batches.
func (m *Model) Explain(msg *Message, n int) []Feature {
	spam := m.Score(msg) >= m.Threshold
	seen := map[uint32]bool{}
	var fs []Feature
	walkFeatures(msg, func(h uint32, field byte, text string) {
		if seen[h] {
			return
		}
		seen[h] = true
		w := float64(m.weights[h&m.mask]) / weightScale
		if (w > 0) == spam && w != 0 {
			token := strings.ToLower(text)
			if field == fieldLong {
				token = fmt.Sprintf("%c… (%d+ bytes)", lower(text[0]), min(len(text)/10, 20)*10)
			}
			fs = append(fs, Feature{Field: fieldNames[field], Token: token, Weight: w})
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
