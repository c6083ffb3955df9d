package classify

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Personal is what one person taught the classifier: sender rules ("always
// put this sender in ...") and their own model, learned from their
// corrections. The zero value teaches nothing.
type Personal struct {
	// Rules maps a lower-case address or domain to a category.
	Rules map[string]Category
	// Model is the person's own model; nil before their first correction.
	Model *UserModel
	// Reputation maps a lower-case address or domain to how much the spam
	// model's score leans toward spam for its mail, in calibrated
	// log-odds (internal/reputation's Lean): positive for senders with a
	// bad reputation, negative for good ones. Absent senders do not lean.
	Reputation map[string]float64
}

// lean returns how much msg's sender leans toward spam, and the sender
// (address, else domain) whose reputation it is.
func (p *Personal) lean(addr string) (float64, string) {
	if p == nil || len(p.Reputation) == 0 || addr == "" {
		return 0, ""
	}
	addr = strings.ToLower(addr)
	if l, ok := p.Reputation[addr]; ok {
		return l, addr
	}
	if d := domainOf(addr); d != "" {
		if l, ok := p.Reputation[d]; ok {
			return l, d
		}
	}
	return 0, ""
}

// rule returns the person's rule for addr: the address's own, else its
// domain's, else its parent domains' (a rule for example.com covers
// mail.example.com).
func (p *Personal) rule(addr string) (Category, string, bool) {
	if p == nil || len(p.Rules) == 0 || addr == "" {
		return "", "", false
	}
	addr = strings.ToLower(addr)
	if c, ok := p.Rules[addr]; ok {
		return c, addr, true
	}
	for d := domainOf(addr); d != ""; {
		if c, ok := p.Rules[d]; ok {
			return c, d, true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return "", "", false
}

// ClassifyFor decides msg's category for a person: their sender rules first
// (they said so), then their own model where it is sure and points where
// they taught it (a person who moves a newsletter out of Gmail's Promotions
// tab means its like too), then Gmail's labels, then the base pipeline,
// whose spam verdict the sender's reputation may tip where the model was
// unsure (see leaned).
func (c *Classifier) ClassifyFor(msg *Message, p *Personal) Decision {
	if cat, sender, ok := p.rule(msg.From); ok {
		return Decision{Category: cat, Spam: cat == Spam, Confidence: 1, Source: SourceRule,
			Rule: "sender-rule:" + sender, ModelVersion: c.model.Version}
	}
	if p != nil && p.Model != nil {
		if cat, conf, ok := p.Model.Predict(msg); ok {
			return Decision{Category: cat, Spam: cat == Spam, Confidence: conf, Source: SourceModel,
				Rule: "user-model", ModelVersion: fmt.Sprintf("%s+user.%d", c.model.Version, p.Model.Version)}
		}
	}
	if d, ok := labelRule(msg); ok {
		d.ModelVersion = c.model.Version
		return d
	}
	d := c.classifyModel(msg)
	if lean, sender := p.lean(msg.From); lean != 0 {
		return c.leaned(msg, d, lean, sender)
	}
	return d
}

// leaned returns d with the spam model's score moved by lean (calibrated
// log-odds toward spam) when that crosses the threshold: a bad sender's
// borderline mail becomes spam, a good sender's borderline spam is let
// through to the header rules. A verdict the lean does not flip is kept
// whole, so a reputation that changes a little rewrites nothing.
func (c *Classifier) leaned(msg *Message, d Decision, lean float64, sender string) Decision {
	if c.model.CalA <= 0 {
		return d
	}
	score := c.model.Score(msg) + lean/c.model.CalA
	spam := score >= c.model.Threshold
	if spam == d.Spam {
		return d
	}
	sure := sigmoid(c.model.CalA * (score - c.model.Threshold))
	out := Decision{SpamProbability: d.SpamProbability, ModelVersion: d.ModelVersion, Source: SourceRule,
		Rule: "sender-reputation:" + sender}
	if spam {
		out.Category, out.Spam, out.Confidence = Spam, true, sure
		return out
	}
	out.Category, out.Confidence = Primary, 1-sure
	if cat, _, ok := headerRule(msg); ok {
		out.Category = cat
	}
	return out
}

// UserModel is one person's multinomial naive Bayes over the categories,
// over the sender and subject features of userFeatures. It is trained on their
// corrections and on a sample of their other mail with its machine
// category as background, so it only moves what resembles what they
// corrected; and it may only move mail into a category they corrected
// something into. Read-only once built.
type UserModel struct {
	// Version counts the trainings of this person's model.
	Version int
	// counts[bucket][category] are feature counts.
	counts map[uint32]*[nCategories]float32
	totals [nCategories]float64 // features per category
	docs   [nCategories]float64 // examples per category
	// taught[c] counts corrections into category c.
	taught [nCategories]int32
	buf    []uint32
}

const (
	nCategories = 7
	userBits    = 18
	userMask    = 1<<userBits - 1
	// UserConfidence is how sure the person's model must be to decide.
	UserConfidence = 0.9
	userSmoothing  = 0.5
	// correctionWeight counts a correction as this many background
	// messages: a person's word outweighs the machine's guesses.
	correctionWeight = 5
)

// fieldAddress seeds the hash of a whole sender address.
const fieldAddress = 'A'

// userFeatures are what a person's corrections are about: who sent it (the
// whole address, its words, domain and display name), the subject's words
// and the list it came from. The body's words, which the base model weighs,
// would drown the sender in a model learned from a handful of corrections.
func userFeatures(dst []uint32, msg *Message) []uint32 {
	k := sink{hs: dst}
	k.whole(msg.From, fieldAddress)
	k.sender(msg)
	k.text(msg.Subject, fieldSubject)
	k.whole(msg.ListID, fieldHeader)
	return k.hs
}

func categoryIndex(c Category) int { return slices.Index(Categories, c) }

// NewUserModel returns an empty model with the given version.
func NewUserModel(version int) *UserModel {
	return &UserModel{Version: version, counts: map[uint32]*[nCategories]float32{}}
}

// Add learns msg as category c; corrected marks a person's correction (as
// opposed to background mail with its machine category).
func (u *UserModel) Add(msg *Message, c Category, corrected bool) {
	i := categoryIndex(c)
	if i < 0 {
		return
	}
	w := float32(1)
	if corrected {
		w = correctionWeight
		u.taught[i]++
	}
	u.buf = userFeatures(u.buf[:0], msg)
	for _, h := range u.buf {
		b := h & userMask
		row := u.counts[b]
		if row == nil {
			row = new([nCategories]float32)
			u.counts[b] = row
		}
		row[i] += w
	}
	u.totals[i] += float64(w) * float64(len(u.buf))
	u.docs[i] += float64(w)
}

// Corrections returns how many corrections the model learned.
func (u *UserModel) Corrections() int {
	n := 0
	for _, t := range u.taught {
		n += int(t)
	}
	return n
}

// Predict returns the model's category for msg and its posterior, and
// whether the model may decide: it is at least UserConfidence sure, and
// the person corrected something into that category. Not safe for
// concurrent use with Add.
func (u *UserModel) Predict(msg *Message) (Category, float64, bool) {
	var n float64
	for _, d := range u.docs {
		n += d
	}
	if n == 0 || u.Corrections() == 0 {
		return "", 0, false
	}
	hs := userFeatures(make([]uint32, 0, 64), msg)
	v := float64(len(u.counts) + 1)
	var logp [nCategories]float64
	best := -1
	for i := range nCategories {
		if u.docs[i] == 0 {
			logp[i] = math.Inf(-1)
			continue
		}
		lp := math.Log(u.docs[i] / n)
		denom := math.Log(u.totals[i] + userSmoothing*v)
		for _, h := range hs {
			var c float64
			if row := u.counts[h&userMask]; row != nil {
				c = float64(row[i])
			}
			lp += math.Log(c+userSmoothing) - denom
		}
		logp[i] = lp
		if best < 0 || lp > logp[best] {
			best = i
		}
	}
	var z float64
	for _, lp := range logp {
		if !math.IsInf(lp, -1) {
			z += math.Exp(lp - logp[best])
		}
	}
	p := 1 / z
	return Categories[best], p, p >= UserConfidence && u.taught[best] > 0
}

// Encoding: "IQUM", format 1, version, then per category docs, totals
// (float64) and taught (int32), the number of buckets, and each bucket with
// its counts (float32), buckets in ascending order so equal models encode
// equally.
const userMagic = "IQUM"

// MarshalBinary encodes the model.
func (u *UserModel) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(userMagic)
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	w(uint16(1))
	w(int32(u.Version))
	w(u.docs)
	w(u.totals)
	w(u.taught)
	keys := make([]uint32, 0, len(u.counts))
	for k := range u.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w(uint32(len(keys)))
	for _, k := range keys {
		w(k)
		w(*u.counts[k])
	}
	return b.Bytes(), nil
}

// DecodeUserModel decodes a model MarshalBinary encoded.
func DecodeUserModel(data []byte) (*UserModel, error) {
	if !bytes.HasPrefix(data, []byte(userMagic)) {
		return nil, errors.New("not a user model")
	}
	r := bytes.NewReader(data[len(userMagic):])
	var format uint16
	var version int32
	u := &UserModel{}
	var n uint32
	for _, v := range []any{&format, &version, &u.docs, &u.totals, &u.taught, &n} {
		if err := binary.Read(r, binary.LittleEndian, v); err != nil {
			return nil, fmt.Errorf("user model header: %w", err)
		}
	}
	if format != 1 {
		return nil, fmt.Errorf("user model format %d: want 1", format)
	}
	if int64(n)*(4+4*nCategories) != int64(r.Len()) {
		return nil, errors.New("user model: truncated or padded")
	}
	u.Version = int(version)
	u.counts = make(map[uint32]*[nCategories]float32, n)
	for range n {
		var k uint32
		row := new([nCategories]float32)
		if err := binary.Read(r, binary.LittleEndian, &k); err != nil {
			return nil, err
		}
		if err := binary.Read(r, binary.LittleEndian, row); err != nil {
			return nil, err
		}
		u.counts[k] = row
	}
	return u, nil
}
