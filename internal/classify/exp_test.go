//go:build experiments

package classify

// The experiment harness behind the comparison in docs/architecture.md
// (classification): 10-fold cross-validation of feature, learner, smoothing
// and threshold variants, averaged over three fold salts, on the training
// groups only (easy-ham-1, hard-ham-1, spam-1; expLoad refuses the
// reserved ones). It is scratch code kept for reproducibility, behind a
// build tag so ordinary test runs never compile it:
//
//	EXP_CORPUS=/path/to/package/data go test -tags experiments -run 'TestExp' -v ./internal/classify
//
// (EXP_ONLY=substring picks configurations; the variant lists in
// TestExperiments were edited between runs.) Known quirk: its "skip"
// variant hashed every over-long word to one feature; the shipped tokenizer
// hashes them by first byte and length instead (tokens.go).

import (
	"bytes"
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"
)

var expTrainHam = []string{"easy-ham-1", "hard-ham-1"}
var expTrainSpam = []string{"spam-1"}

type exEx struct {
	name string
	msg  *Message
	spam bool
	date time.Time
}

func expLoad(t *testing.T, dir string) []exEx {
	var out []exEx
	for _, gs := range []struct {
		groups []string
		spam   bool
	}{{expTrainHam, false}, {expTrainSpam, true}} {
		for _, g := range gs.groups {
			if g == "easy-ham-2" || g == "spam-2" {
				t.Fatal("reserved")
			}
			files, _ := filepath.Glob(filepath.Join(dir, g, "*.txt"))
			sort.Strings(files)
			for _, f := range files {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				m, err := ParseMessage(raw)
				if err != nil {
					continue
				}
				var d time.Time
				if mm, err := mail.ReadMessage(bytes.NewReader(stripFromLine(raw))); err == nil {
					d, _ = mm.Header.Date()
				}
				out = append(out, exEx{g + "/" + filepath.Base(f), m, gs.spam, d})
			}
		}
	}
	return out
}

func stripFromLine(raw []byte) []byte {
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			return raw[i+1:]
		}
	}
	return raw
}

type fopt struct {
	prod    bool
	bigrams bool
	headers bool // list headers, precedence
	shape   bool // subject / name / sender shape tokens
	domain2 bool // registrable domain and tld
	listID  bool // tokens of List-Id
	bodyMax int  // truncate body when featurizing (0: none)
	subjBig bool // bigrams in subject only
	skip    bool
	pad     bool
	eight   bool
}

func tok(dst []uint32, s string, field byte) []uint32 { return appendWhole(dst, s, field) }

var expSkip bool

func expText(dst []uint32, s string, field byte, bigrams bool) []uint32 {
	prev := uint32(0)
	have := false
	for i := 0; len(dst) < maxTokens; {
		start, end, _ := nextTokenOld(s, i)
		if expSkip {
			// find skipped long runs between i and start
			for j := i; j < start; {
				if isWordByte(s[j]) {
					k := j
					for k < start && isWordByte(s[k]) {
						k++
					}
					if k-j > maxTokenLen {
						dst = append(dst, hashToken(fmt.Sprintf("skip:%c:%d", s[j]|0x20, min((k-j)/10, 20)), 0, 0, 'K'))
					}
					j = k
				} else {
					j++
				}
			}
		}
		if start == len(s) {
			break
		}
		h := hashToken(s, start, end, field)
		dst = append(dst, h)
		if bigrams && have {
			dst = append(dst, (prev*fnvPrime)^h^0x9e3779b9)
		}
		prev, have = h, true
		i = end
	}
	return dst
}

func capsShape(s string) string {
	up, low := 0, 0
	for _, r := range s {
		if unicode.IsUpper(r) {
			up++
		} else if unicode.IsLower(r) {
			low++
		}
	}
	switch {
	case up+low < 4:
		return "few"
	case low == 0:
		return "allcaps"
	case up*2 > up+low:
		return "mostcaps"
	}
	return "mixed"
}

func eightShare(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == 0x1b {
			n++
		}
	}
	switch {
	case n == 0:
		return "none"
	case n*10 < len(s):
		return "some"
	}
	return "lots"
}

func expDigitRun(s string) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

func nextTokenOld(s string, i int) (start, end int, long bool) {
	for {
		start, end, long = nextToken(s, i)
		if !long {
			return
		}
		i = end
	}
}

func expFeatures(dst []uint32, m *Message, o fopt) []uint32 {
	body := m.Body
	if o.bodyMax > 0 && len(body) > o.bodyMax {
		body = body[:o.bodyMax]
	}
	if o.prod {
		mm := *m
		mm.Body = body
		return features(dst, &mm)
	}
	expSkip = o.skip
	dst = expText(dst, m.Subject, fieldSubject, o.bigrams || o.subjBig)
	if m.From == "" {
		dst = appendWhole(dst, "none", fieldNoSender)
	}
	dst = expText(dst, m.From, fieldFrom, false)
	dom := domainOf(m.From)
	dst = appendWhole(dst, dom, fieldDomain)
	dst = expText(dst, m.FromName, fieldName, false)
	dst = appendWhole(dst, m.ContentType, fieldType)
	dst = expText(dst, m.Mailer, fieldMailer, false)
	if o.headers {
		if m.ListUnsubscribe != "" {
			dst = tok(dst, "list-unsubscribe", 'h')
		}
		if m.ListID != "" {
			dst = tok(dst, "list-id", 'h')
		}
		if p := strings.TrimSpace(m.ListPost); p != "" {
			dst = tok(dst, "list-post", 'h')
		}
		if m.Precedence != "" {
			dst = tok(dst, "prec-"+m.Precedence, 'h')
		}
		if m.Mailer == "" {
			dst = tok(dst, "no-mailer", 'h')
		}
	}
	if o.listID {
		dst = expText(dst, m.ListID, 'l', false)
	}
	if o.domain2 && dom != "" {
		labels := strings.Split(dom, ".")
		dst = tok(dst, labels[len(labels)-1], 'T')
		if len(labels) >= 2 {
			dst = tok(dst, strings.Join(labels[len(labels)-2:], "."), 'R')
		}
	}
	if o.pad {
		if strings.Contains(m.Subject, "   ") {
			dst = tok(dst, "subj-pad", 'S')
		}
		f := strings.Fields(m.Subject)
		if len(f) > 1 {
			last := f[len(f)-1]
			if len(last) >= 4 && expDigitRun(last) > 0 && strings.IndexFunc(last, unicode.IsLetter) >= 0 {
				dst = tok(dst, "subj-mixid", 'S')
			}
		}
	}
	if o.eight {
		dst = tok(dst, "subj8-"+eightShare(m.Subject), 'S')
		b := body
		if len(b) > 200 {
			b = b[:200]
		}
		dst = tok(dst, "body8-"+eightShare(b), 'S')
	}
	if o.shape {
		dst = tok(dst, "subj-"+capsShape(m.Subject), 'S')
		if m.Subject == "" {
			dst = tok(dst, "subj-empty", 'S')
		}
		if strings.Contains(m.Subject, "!!") {
			dst = tok(dst, "subj-bangs", 'S')
		}
		if strings.Contains(m.Subject, "$") {
			dst = tok(dst, "subj-dollar", 'S')
		}
		if strings.Contains(m.Subject, "%") {
			dst = tok(dst, "subj-percent", 'S')
		}
		if expDigitRun(m.Subject) >= 4 {
			dst = tok(dst, "subj-digits", 'S')
		}
		l := strings.ToLower(m.Subject)
		if strings.HasPrefix(l, "re:") || strings.HasPrefix(l, "re ") {
			dst = tok(dst, "subj-reply", 'S')
		}
		if m.FromName == "" {
			dst = tok(dst, "name-empty", 'S')
		} else {
			dst = tok(dst, "name-"+capsShape(m.FromName), 'S')
		}
		at := strings.LastIndexByte(m.From, '@')
		if at > 0 && expDigitRun(m.From[:at]) >= 3 {
			dst = tok(dst, "from-digits", 'S')
		}
		b := body
		if len(b) > 200 {
			b = b[:200]
		}
		dst = tok(dst, "body-"+capsShape(b), 'S')
	}
	dst = expText(dst, body, fieldBody, o.bigrams)
	return dst
}

// ---- learners

type vec struct {
	idx []uint32
	val []float64
}

type norm int

const (
	normCount norm = iota // raw counts
	normBinary
	normL2Binary
	normL2LogTF
)

func toVec(hs []uint32, mask uint32, n norm) vec {
	c := map[uint32]float64{}
	for _, h := range hs {
		c[h&mask]++
	}
	v := vec{}
	for k := range c {
		v.idx = append(v.idx, k)
	}
	slices.Sort(v.idx)
	ss := 0.0
	for _, k := range v.idx {
		x := c[k]
		switch n {
		case normBinary, normL2Binary:
			x = 1
		case normL2LogTF:
			x = math.Log1p(x)
		}
		v.val = append(v.val, x)
		ss += x * x
	}
	if n == normL2Binary || n == normL2LogTF {
		if ss > 0 {
			s := 1 / math.Sqrt(ss)
			for i := range v.val {
				v.val[i] *= s
			}
		}
	}
	return v
}

type learner interface {
	fit(xs []vec, ys []bool, nb int)
	score(x vec) float64
}

type nbL struct {
	usedV       bool
	gamma       float64
	minEvidence int
	p, k        float64 // score = bias + sum/(n+k)^p over known features; p=0: plain sum
	minCount    float64
	alpha       float64
	w           []float64
	bias        float64
	prior       bool // shrink toward 0 by counts
}

func (l *nbL) fit(xs []vec, ys []bool, nb int) {
	n := 1 << nb
	cnt := [2][]float64{make([]float64, n), make([]float64, n)}
	var tot, docs [2]float64
	for i, x := range xs {
		c := 0
		if ys[i] {
			c = 1
		}
		docs[c]++
		for j, k := range x.idx {
			cnt[c][k] += x.val[j]
			tot[c] += x.val[j]
		}
	}
	l.w = make([]float64, n)
	l.bias = math.Log(docs[1] / docs[0])
	v := float64(n)
	if l.usedV {
		v = 0
		for i := range n {
			if cnt[0][i]+cnt[1][i] > 0 {
				v++
			}
		}
	}
	dh, ds := math.Log(tot[0]+l.alpha*v), math.Log(tot[1]+l.alpha*v)
	for i := range n {
		if cnt[0][i]+cnt[1][i] < l.minCount {
			continue
		}
		l.w[i] = (math.Log(cnt[1][i]+l.alpha) - ds) - (math.Log(cnt[0][i]+l.alpha) - dh)
	}
}

func (l *nbL) score(x vec) float64 {
	s := 0.0
	n := 0.0
	for j, k := range x.idx {
		if l.w[k] != 0 {
			s += l.w[k] * x.val[j]
			n += x.val[j]
		}
	}
	if l.p != 0 {
		s /= math.Pow(n+l.k, l.p)
	}
	if n < float64(l.minEvidence) {
		return math.Inf(-1)
	}
	return l.bias + s + l.gamma*n
}

type lrL struct {
	lambda   float64
	epochs   int
	balanced bool
	minCount float64
	w        []float64
	b        float64
}

func (l *lrL) fit(xs []vec, ys []bool, nb int) {
	n := 1 << nb
	w := make([]float64, n)
	var allowed []bool
	if l.minCount > 1 {
		df := make([]float64, n)
		for _, x := range xs {
			for _, k := range x.idx {
				df[k]++
			}
		}
		allowed = make([]bool, n)
		for i := range df {
			allowed[i] = df[i] >= l.minCount
		}
	}
	var np, nn float64
	for _, y := range ys {
		if y {
			np++
		} else {
			nn++
		}
	}
	cw := [2]float64{1, 1}
	if l.balanced {
		tot := np + nn
		cw = [2]float64{tot / (2 * nn), tot / (2 * np)}
	}
	r := rand.New(rand.NewPCG(1, 2))
	perm := make([]int, len(xs))
	for i := range perm {
		perm[i] = i
	}
	scale := 1.0
	b := 0.0
	lam := l.lambda
	t0 := 1 / lam // Bottou: eta0 ~ 1
	t := 0.0
	for range l.epochs {
		r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for _, i := range perm {
			eta := 1 / (lam * (t0 + t))
			t++
			x := xs[i]
			z := 0.0
			for j, k := range x.idx {
				if allowed != nil && !allowed[k] {
					continue
				}
				z += w[k] * x.val[j]
			}
			z = z*scale + b
			y, c := 0.0, 0
			if ys[i] {
				y, c = 1, 1
			}
			g := (sigmoid(z) - y) * cw[c]
			scale *= 1 - eta*lam
			if scale < 1e-9 {
				for k := range w {
					w[k] *= scale
				}
				scale = 1
			}
			for j, k := range x.idx {
				if allowed != nil && !allowed[k] {
					continue
				}
				w[k] -= eta * g * x.val[j] / scale
			}
			b -= eta * g * 0.1
		}
	}
	for k := range w {
		w[k] *= scale
	}
	l.w, l.b = w, b
}

func (l *lrL) score(x vec) float64 {
	s := l.b
	for j, k := range x.idx {
		s += l.w[k] * x.val[j]
	}
	return s
}

// ---- folds

var foldSalt string

func foldByName(e exEx, k int) int {
	h := fnv.New32a()
	h.Write([]byte(foldSalt + e.name))
	return int(h.Sum32() % uint32(k))
}

func normSubject(s string) string {
	s = strings.ToLower(s)
	for {
		t := strings.TrimSpace(s)
		trimmed := false
		for _, p := range []string{"re:", "fw:", "fwd:", "re[2]:", "aw:"} {
			if strings.HasPrefix(t, p) {
				t = t[len(p):]
				trimmed = true
			}
		}
		s = t
		if !trimmed {
			break
		}
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func foldBySubject(e exEx, k int) int {
	ns := normSubject(e.msg.Subject)
	if len(ns) < 4 {
		return foldByName(e, k)
	}
	h := fnv.New32a()
	h.Write([]byte(foldSalt + ns))
	return int(h.Sum32() % uint32(k))
}

// ---- metrics

// minThr returns the smallest threshold keeping ham scores above it within budget.
func minThr(scores []float64, ys []bool, budget float64) float64 {
	var hs []float64
	for i, s := range scores {
		if !ys[i] {
			hs = append(hs, s)
		}
	}
	slices.Sort(hs)
	slices.Reverse(hs)
	maxFP := int(math.Floor(budget * float64(len(hs))))
	if maxFP >= len(hs) {
		return math.Inf(-1)
	}
	return math.Nextafter(hs[maxFP], math.Inf(1))
}

func rates(scores []float64, ys []bool, thr float64) (fp, tp, nh, ns int) {
	for i, s := range scores {
		if ys[i] {
			ns++
			if s >= thr {
				tp++
			}
		} else {
			nh++
			if s >= thr {
				fp++
			}
		}
	}
	return
}

type cfg struct {
	name     string
	f        fopt
	bits     uint8
	norm     norm
	learn    func() learner
	fold     func(exEx, int) int
	train200 bool // also train on truncated copies
	oldThr   bool // threshold from full scores only (the old procedure)
}

const budget = 0.005

var lunchMsg = &Message{Subject: "Lunch tomorrow?", From: "bob@example.org", FromName: "Bob Jones", ContentType: "text/plain",
	Body: "Are you free for lunch tomorrow at noon?"}

func fitOn(c cfg, full, trunc []vec, ys []bool, use func(i int) bool) learner {
	var xs []vec
	var yy []bool
	for i := range full {
		if use(i) {
			xs = append(xs, full[i])
			yy = append(yy, ys[i])
			if c.train200 {
				xs = append(xs, trunc[i])
				yy = append(yy, ys[i])
			}
		}
	}
	l := c.learn()
	l.fit(xs, yy, int(c.bits))
	return l
}

func jointThr(full, trunc []float64, ys []bool, neutral float64) float64 {
	return max(minThr(full, ys, budget), minThr(trunc, ys, budget), math.Nextafter(neutral, math.Inf(1)))
}

type nums [13]float64 // see expHeader

func runCfgAvg(exs []exEx, c cfg) string {
	var a nums
	salts := []string{"", "a", "b"}
	if os.Getenv("EXP_SALTS") == "1" {
		salts = salts[:1]
	}
	for _, salt := range salts {
		foldSalt = salt
		r := runCfg(exs, c)
		for i := range a {
			a[i] += r[i] / float64(len(salts))
		}
	}
	foldSalt = ""
	return fmt.Sprintf("%-30s %6.1f %6.1f | %7.2f %5.1f %5.1f %5.1f %5.1f | %5.1f %5.1f %5.1f %5.1f | %5.1f %6.2f",
		c.name, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12])
}

func runCfg(exs []exEx, c cfg) nums {
	const K = 10
	mask := uint32(1)<<c.bits - 1
	full := make([]vec, len(exs))
	trunc := make([]vec, len(exs))
	ys := make([]bool, len(exs))
	fo2 := c.f
	fo2.bodyMax = 200
	var buf []uint32
	for i, e := range exs {
		buf = expFeatures(buf[:0], e.msg, c.f)
		full[i] = toVec(buf, mask, c.norm)
		buf = expFeatures(buf[:0], e.msg, fo2)
		trunc[i] = toVec(buf, mask, c.norm)
		ys[i] = e.spam
	}
	folds := make([]int, len(exs))
	for i, e := range exs {
		folds[i] = c.fold(e, K)
	}
	oof := make([]float64, len(exs))
	oofT := make([]float64, len(exs))
	neutral := make([]float64, K)
	for k := range K {
		l := fitOn(c, full, trunc, ys, func(i int) bool { return folds[i] != k })
		neutral[k] = l.score(vec{})
		for i := range exs {
			if folds[i] == k {
				oof[i] = l.score(full[i])
				oofT[i] = l.score(trunc[i])
			}
		}
	}
	rec05, _ := recallAt(oof, ys, budget)
	rec05T, _ := recallAt(oofT, ys, budget)
	thr := jointThr(oof, oofT, ys, slices.Max(neutral))
	if c.oldThr {
		thr = minThr(oof, ys, budget)
	}
	fp, tp, nh, ns := rates(oof, ys, thr)
	fpT, tpT, _, _ := rates(oofT, ys, thr)
	// honest: thresholds for fold k from the other folds
	hfp, htp, hfpT, htpT := 0, 0, 0, 0
	for k := range K {
		var s, sT []float64
		var y []bool
		for i := range exs {
			if folds[i] != k {
				s, sT, y = append(s, oof[i]), append(sT, oofT[i]), append(y, ys[i])
			}
		}
		th := jointThr(s, sT, y, neutral[k])
		if c.oldThr {
			th = minThr(s, y, budget)
		}
		for i := range exs {
			if folds[i] == k {
				if oof[i] >= th {
					if ys[i] {
						htp++
					} else {
						hfp++
					}
				}
				if oofT[i] >= th {
					if ys[i] {
						htpT++
					} else {
						hfpT++
					}
				}
			}
		}
	}
	// temporal: earliest 70 % of each class trains, the rest tests.
	late := make([]bool, len(exs))
	for _, spam := range []bool{false, true} {
		var idx []int
		for i, e := range exs {
			if e.spam == spam {
				idx = append(idx, i)
			}
		}
		slices.SortStableFunc(idx, func(a, b int) int { return exs[a].date.Compare(exs[b].date) })
		for _, i := range idx[len(idx)*7/10:] {
			late[i] = true
		}
	}
	lt := fitOn(c, full, trunc, ys, func(i int) bool { return !late[i] })
	var ts []float64
	var ty []bool
	for i := range exs {
		if late[i] {
			ts, ty = append(ts, lt.score(full[i])), append(ty, ys[i])
		}
	}
	trec05, _ := recallAt(ts, ty, budget)
	trec1, _ := recallAt(ts, ty, 0.01)
	_ = trec1

	l := fitOn(c, full, trunc, ys, func(int) bool { return true })
	buf = expFeatures(buf[:0], lunchMsg, c.f)
	lunch := l.score(toVec(buf, mask, c.norm))
	pc := func(a, b int) float64 { return 100 * float64(a) / float64(b) }
	_ = nh
	return nums{100 * rec05, 100 * rec05T, thr, float64(fp), pc(tp, ns), float64(fpT), pc(tpT, ns), float64(hfp), pc(htp, ns), float64(hfpT), pc(htpT, ns),
		100 * trec05, lunch - thr}
}

const expHeader = "config                         r@.5%  trunc |  jointT    fp   rec   fpT  recT |   hfp  hrec   hfT hrecT | tmp.5  lunch"

func with(o fopt, f func(*fopt)) fopt { f(&o); return o }

func TestExperiments(t *testing.T) {
	dir := os.Getenv("EXP_CORPUS")
	if dir == "" {
		t.Skip("EXP_CORPUS not set")
	}
	exs := expLoad(t, dir)
	t.Logf("%d examples", len(exs))
	nb := func(mc float64) func() learner { return func() learner { return &nbL{minCount: mc, alpha: 0.1} } }
	lr := func(lam float64, ep int, bal bool) func() learner {
		return func() learner { return &lrL{lambda: lam, epochs: ep, balanced: bal} }
	}
	base := fopt{}
	all := fopt{headers: true, shape: true, domain2: true}
	chi := func(md int) func() learner {
		return func() learner { return &chiL{s: 0.45, x: 0.5, minStrength: 0.1, maxDisc: md} }
	}
	nbn := func(p, k float64) func() learner {
		return func() learner { return &nbL{minCount: 2, alpha: 0.1, p: p, k: k} }
	}
	nba := func(a float64) func() learner { return func() learner { return &nbL{minCount: 2, alpha: a} } }
	plus := with(all, func(o *fopt) { o.skip, o.pad, o.eight = true, true, true })
	nbg := func(g float64) func() learner {
		return func() learner { return &nbL{minCount: 2, alpha: 0.1, gamma: g} }
	}
	ens := func(a float64) func() learner {
		return func() learner {
			return &ensL{a: a, nb: &nbL{minCount: 2, alpha: 0.1}, lr: &lrL{lambda: 1e-6, epochs: 30}}
		}
	}
	nbu := func(a float64) func() learner {
		return func() learner { return &nbL{minCount: 2, alpha: a, usedV: true} }
	}
	fin := func() learner { return &nbL{minCount: 2, alpha: 0.05, usedV: true} }
	finME := func(me int) func() learner {
		return func() learner { return &nbL{minCount: 2, alpha: 0.05, usedV: true, minEvidence: me} }
	}
	core := fopt{shape: true, domain2: true}
	prod := fopt{prod: true}
	cfgs := []cfg{
		{"PROD", prod, 20, normCount, fin, foldBySubject, true, false},
		{"PROD name-folds", prod, 20, normCount, fin, foldByName, true, false},
		{"CORE", core, 20, normCount, fin, foldBySubject, true, false},
		{"CORE name-folds", core, 20, normCount, fin, foldByName, true, false},
		{"CORE +headers", with(core, func(o *fopt) { o.headers = true }), 20, normCount, fin, foldBySubject, true, false},
		{"CORE -train200", core, 20, normCount, fin, foldBySubject, false, false},
		{"CORE b18", core, 18, normCount, fin, foldBySubject, true, false},
		{"FINAL", plus, 20, normCount, fin, foldBySubject, true, false},
		{"FINAL name-folds", plus, 20, normCount, fin, foldByName, true, false},
		{"FINAL -train200", plus, 20, normCount, fin, foldBySubject, false, false},
		{"FINAL -headers", with(plus, func(o *fopt) { o.headers = false }), 20, normCount, fin, foldBySubject, true, false},
		{"FINAL -shape", with(plus, func(o *fopt) { o.shape = false }), 20, normCount, fin, foldBySubject, true, false},
		{"FINAL -domain2", with(plus, func(o *fopt) { o.domain2 = false }), 20, normCount, fin, foldBySubject, true, false},
		{"FINAL -skip", with(plus, func(o *fopt) { o.skip = false }), 20, normCount, fin, foldBySubject, true, false},
		{"FINAL -pad", with(plus, func(o *fopt) { o.pad = false }), 20, normCount, fin, foldBySubject, true, false},
		{"FINAL -eight", with(plus, func(o *fopt) { o.eight = false }), 20, normCount, fin, foldBySubject, true, false},
		{"FINAL +bigrams", with(plus, func(o *fopt) { o.bigrams = true }), 20, normCount, fin, foldBySubject, true, false},
		{"FINAL +listid", with(plus, func(o *fopt) { o.listID = true }), 20, normCount, fin, foldBySubject, true, false},
		{"FINAL minev5", plus, 20, normCount, finME(5), foldBySubject, true, false},
		{"FINAL minev10", plus, 20, normCount, finME(10), foldBySubject, true, false},
		{"FINAL binary(bernoulli-ish)", plus, 20, normBinary, fin, foldBySubject, true, false},
		{"chi2 (SpamBayes) plus train200", plus, 20, normBinary, chi(150), foldBySubject, true, false},
		{"LR l2log plus train200", plus, 20, normL2LogTF, lr(1e-6, 30, false), foldBySubject, true, false},
	}
	_ = nbu
	_ = ens
	_, _, _, _, _, _, _, _ = nb, all, lr, chi, nbn, base, nba, nbg
	if s := os.Getenv("EXP_ONLY"); s != "" {
		cfgs = slices.DeleteFunc(cfgs, func(c cfg) bool { return !strings.Contains(c.name, s) })
	}
	fmt.Println(expHeader)
	for _, c := range cfgs {
		fmt.Println(runCfgAvg(exs, c))
	}
}

// chiL: SpamBayes-style Robinson token probabilities with Fisher/chi-square
// combining over the most extreme tokens.
type chiL struct {
	s, x, minStrength float64
	maxDisc           int
	f                 []float64
	logit             bool
}

func (l *chiL) fit(xs []vec, ys []bool, nb int) {
	n := 1 << nb
	hc, sc := make([]float64, n), make([]float64, n)
	var nh, ns float64
	for i, x := range xs {
		if ys[i] {
			ns++
			for _, k := range x.idx {
				sc[k]++
			}
		} else {
			nh++
			for _, k := range x.idx {
				hc[k]++
			}
		}
	}
	l.f = make([]float64, n)
	for i := range n {
		cnt := hc[i] + sc[i]
		if cnt == 0 {
			l.f[i] = l.x
			continue
		}
		hr, sr := hc[i]/nh, sc[i]/ns
		p := sr / (hr + sr)
		l.f[i] = (l.s*l.x + cnt*p) / (l.s + cnt)
	}
}

func chi2Q(x2 float64, v int) float64 {
	m := x2 / 2
	sum := math.Exp(-m)
	term := sum
	for i := 1; i < v/2; i++ {
		term *= m / float64(i)
		sum += term
	}
	return min(sum, 1)
}

func (l *chiL) score(x vec) float64 {
	var cl []float64
	for _, k := range x.idx {
		f := l.f[k]
		if math.Abs(f-0.5) >= l.minStrength {
			cl = append(cl, f)
		}
	}
	if len(cl) > l.maxDisc {
		slices.SortFunc(cl, func(a, b float64) int { return cmp.Compare(math.Abs(b-0.5), math.Abs(a-0.5)) })
		cl = cl[:l.maxDisc]
	}
	if len(cl) == 0 {
		if l.logit {
			return 0
		}
		return 0.5
	}
	var sl, hl float64
	for _, f := range cl {
		sl += math.Log(1 - f)
		hl += math.Log(f)
	}
	S := 1 - chi2Q(-2*sl, 2*len(cl))
	H := 1 - chi2Q(-2*hl, 2*len(cl))
	p := (S - H + 1) / 2
	if l.logit {
		p = min(max(p, 1e-9), 1-1e-9)
		return math.Log(p / (1 - p))
	}
	return p
}

func recallAt(scores []float64, ys []bool, budget float64) (float64, float64) {
	t := minThr(scores, ys, budget)
	_, tp, _, ns := rates(scores, ys, t)
	return float64(tp) / float64(ns), t
}

func TestExpErrors(t *testing.T) {
	dir := os.Getenv("EXP_CORPUS")
	if dir == "" {
		t.Skip("EXP_CORPUS not set")
	}
	exs := expLoad(t, dir)
	c := cfg{"nb +hdr", fopt{headers: true, shape: true, domain2: true}, 18, normCount, func() learner { return &nbL{minCount: 2, alpha: 0.1} }, foldBySubject, false, false}
	mask := uint32(1)<<c.bits - 1
	full := make([]vec, len(exs))
	ys := make([]bool, len(exs))
	var buf []uint32
	for i, e := range exs {
		buf = expFeatures(buf[:0], e.msg, c.f)
		full[i] = toVec(buf, mask, c.norm)
		ys[i] = e.spam
	}
	oof := make([]float64, len(exs))
	for k := range 10 {
		l := fitOn(c, full, nil, ys, func(i int) bool { return c.fold(exs[i], 10) != k })
		for i := range exs {
			if c.fold(exs[i], 10) == k {
				oof[i] = l.score(full[i])
			}
		}
	}
	thr := -1.65
	for i, e := range exs {
		if e.spam != (oof[i] >= thr) {
			m := e.msg
			b := strings.Join(strings.Fields(m.Body), " ")
			fmt.Printf("%s %7.1f %q <%s> %q ct=%s mailer=%q lu=%v\n   %.300q\n", e.name, oof[i], m.FromName, m.From, m.Subject, m.ContentType, m.Mailer, m.ListUnsubscribe != "", b)
		}
	}
}

// ensL: a*nb + lr, both fit on the same vectors (nb on counts, lr on l2log of the same counts).
type ensL struct {
	a  float64
	nb *nbL
	lr *lrL
}

func l2log(x vec) vec {
	v := vec{idx: x.idx, val: make([]float64, len(x.val))}
	ss := 0.0
	for i, c := range x.val {
		v.val[i] = math.Log1p(c)
		ss += v.val[i] * v.val[i]
	}
	if ss > 0 {
		for i := range v.val {
			v.val[i] /= math.Sqrt(ss)
		}
	}
	return v
}

func (l *ensL) fit(xs []vec, ys []bool, nb int) {
	l.nb.fit(xs, ys, nb)
	ls := make([]vec, len(xs))
	for i, x := range xs {
		ls[i] = l2log(x)
	}
	l.lr.fit(ls, ys, nb)
}

func (l *ensL) score(x vec) float64 {
	return l.a*l.nb.score(x) + l.lr.score(l2log(x))
}

func appendWhole(dst []uint32, s string, field byte) []uint32 {
	if s == "" {
		return dst
	}
	return append(dst, hashToken(s, 0, len(s), field))
}

type bvec [numBlocks]vec

func blockVecs(m *Message, bodyMax int, mask uint32) bvec {
	mm := *m
	if bodyMax > 0 && len(mm.Body) > bodyMax {
		mm.Body = mm.Body[:bodyMax]
	}
	hs, ends := featureBlocks(nil, &mm)
	var out bvec
	start := 0
	for b := range numBlocks {
		out[b] = toVec(hs[start:ends[b]], mask, normCount)
		start = ends[b]
	}
	return out
}

type capNB struct {
	shrink float64
	margin float64
	nb     *nbL
	caps   [numBlocks]float64 // 0: none
	sym    bool
}

func (l *capNB) score(x bvec) float64 {
	s := l.nb.bias
	if l.shrink > 0 {
		sum, n := 0.0, 0.0
		for b := range numBlocks {
			for j, k := range x[b].idx {
				if l.nb.w[k] != 0 {
					sum += l.nb.w[k] * x[b].val[j]
					n += x[b].val[j]
				}
			}
		}
		return s + sum*n/(n+l.shrink)
	}
	for b := range numBlocks {
		v := 0.0
		for j, k := range x[b].idx {
			v += l.nb.w[k] * x[b].val[j]
		}
		if c := l.caps[b]; c > 0 {
			v = min(v, c)
			if l.sym {
				v = max(v, -c)
			}
		}
		s += v
	}
	return s
}

func flat(x bvec) vec {
	var v vec
	for b := range numBlocks {
		v.idx = append(v.idx, x[b].idx...)
		v.val = append(v.val, x[b].val...)
	}
	return v
}

func TestExpBlocks(t *testing.T) {
	dir := os.Getenv("EXP_CORPUS")
	if dir == "" {
		t.Skip("EXP_CORPUS not set")
	}
	exs := expLoad(t, dir)
	const bits = 20
	mask := uint32(1)<<bits - 1
	full := make([]bvec, len(exs))
	cut := make([]bvec, len(exs))
	cut40 := make([]bvec, len(exs))
	ys := make([]bool, len(exs))
	for i, e := range exs {
		full[i], cut[i], cut40[i] = blockVecs(e.msg, 0, mask), blockVecs(e.msg, 200, mask), blockVecs(e.msg, 40, mask)
		ys[i] = e.spam
	}
	probes := []*Message{}
	for _, from := range []string{"bob@example.org", "bob.jones@gmail.com", "bjones@yahoo.com", "bob@outlook.com", "mom1958@aol.com", "b.jones@uni-hamburg.de", "kim@hotmail.com", "lee@company.com", "ann@icloud.com"} {
		for _, name := range []string{"Bob Jones", ""} {
			for _, ct := range []string{"text/plain", "multipart/alternative"} {
				for _, sb := range [][2]string{{"Lunch tomorrow?", "Are you free for lunch tomorrow at noon?"}, {"Can you call me?", "Call me when you get a chance, love you"}, {"Re: dinner", "Sounds good, see you at 7!"}} {
					probes = append(probes, &Message{Subject: sb[0], From: from, FromName: name, ContentType: ct, Body: sb[1]})
				}
			}
		}
	}
	type variant struct {
		name   string
		caps   [numBlocks]float64
		sym    bool
		shrink float64
		margin float64
	}
	vs := []variant{{"none", [4]float64{}, false, 0, 0}}
	for _, k := range []float64{10, 20, 40, 80} {
		vs = append(vs, variant{fmt.Sprintf("shrink %.0f", k), [4]float64{}, false, k, 0})
	}
	for _, m := range []float64{2, 4, 6} {
		vs = append(vs, variant{fmt.Sprintf("margin %.0f", m), [4]float64{}, false, 0, m})
		vs = append(vs, variant{fmt.Sprintf("margin %.0f shrink 20", m), [4]float64{}, false, 20, m})
	}

	fmt.Println("variant                  |  thr   hfp  hrec | hfpT hrecT | fp40 rec40 | probes spam/of")
	for _, v := range vs {
		athr := 0.0
		var a [7]float64
		salts := []string{"", "a", "b"}
		for _, salt := range salts {
			foldSalt = salt
			folds := make([]int, len(exs))
			for i, e := range exs {
				folds[i] = foldBySubject(e, 10)
			}
			oof, oofT, oof40 := make([]float64, len(exs)), make([]float64, len(exs)), make([]float64, len(exs))
			neutral := make([]float64, 10)
			for k := range 10 {
				var xs []vec
				var yy []bool
				for i := range exs {
					if folds[i] != k {
						xs = append(xs, flat(full[i]), flat(cut[i]))
						yy = append(yy, ys[i], ys[i])
					}
				}
				nb := &nbL{minCount: 2, alpha: 0.05, usedV: true}
				nb.fit(xs, yy, bits)
				l := &capNB{nb: nb, caps: v.caps, sym: v.sym, shrink: v.shrink}
				neutral[k] = nb.bias + v.margin
				for i := range exs {
					if folds[i] == k {
						oof[i], oofT[i], oof40[i] = l.score(full[i]), l.score(cut[i]), l.score(cut40[i])
					}
				}
			}
			hfp, htp, hfT, htT, f40, t40 := 0, 0, 0, 0, 0, 0
			for k := range 10 {
				var s, sT []float64
				var y []bool
				for i := range exs {
					if folds[i] != k {
						s, sT, y = append(s, oof[i]), append(sT, oofT[i]), append(y, ys[i])
					}
				}
				th := jointThr(s, sT, y, neutral[k])
				for i := range exs {
					if folds[i] != k {
						continue
					}
					for _, p := range []struct {
						sc     float64
						fp, tp *int
					}{{oof[i], &hfp, &htp}, {oofT[i], &hfT, &htT}, {oof40[i], &f40, &t40}} {
						if p.sc >= th {
							if ys[i] {
								*p.tp++
							} else {
								*p.fp++
							}
						}
					}
				}
			}
			thr := jointThr(oof, oofT, ys, slices.Max(neutral))
			athr += thr - nb0bias(neutral, v.margin)
			// probes with a model on everything
			var xs []vec
			var yy []bool
			for i := range exs {
				xs = append(xs, flat(full[i]), flat(cut[i]))
				yy = append(yy, ys[i], ys[i])
			}
			nb := &nbL{minCount: 2, alpha: 0.05, usedV: true}
			nb.fit(xs, yy, bits)
			l := &capNB{nb: nb, caps: v.caps, sym: v.sym, shrink: v.shrink}
			ps := 0
			for _, p := range probes {
				if l.score(blockVecs(p, 0, mask)) >= thr {
					ps++
				}
			}
			r := [7]float64{thr, float64(hfp), float64(htp) / 5, float64(hfT), float64(htT) / 5, float64(f40), float64(t40) / 5}
			r[0] = float64(ps)
			for i := range a {
				a[i] += r[i] / 3
			}
		}
		foldSalt = ""
		fmt.Printf("%-24s | %5.1f %5.1f | %4.1f %5.1f | %4.1f %5.1f | %5.1f/%d  thr-prior %.2f\n", v.name, a[1], a[2], a[3], a[4], a[5], a[6], a[0], len(probes), athr/3)
	}
}

func nb0bias(neutral []float64, margin float64) float64 { return slices.Max(neutral) - margin }
