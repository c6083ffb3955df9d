package fakegmail

import (
	"html"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// matcher is a compiled piece of a Gmail search query.
type matcher func(v *view) bool

// view is one message seen by the matcher; content is derived lazily because
// most terms (labels, dates) never need it, and the snippet (which needs the
// body) only when a header match did not decide.
type view struct {
	mb      *Mailbox
	m       *message
	sum     summary
	level   int // 0 nothing, 1 headers, 2 with snippet
	derived int // content derivations, for the list scan budget
}

func (v *view) reset(m *message) {
	v.m, v.level = m, 0
}

func (v *view) summary() *summary {
	if v.level == 0 {
		v.sum = v.mb.summaryOf(v.m, false)
		v.level = 1
		v.derived++
	}
	return &v.sum
}

func (v *view) snippet() string {
	if v.level < 2 {
		v.sum = v.mb.summaryOf(v.m, true)
		v.level = 2
		v.derived++
	}
	return v.sum.snippet
}

// query is a parsed q parameter.
type query struct {
	match matcher
	// showsSpamTrash is set by in:spam, in:trash, in:anywhere and the like,
	// which make Gmail include SPAM and TRASH without includeSpamTrash.
	showsSpamTrash bool
}

// queryParser compiles Gmail's search syntax: terms are ANDed, OR (upper case)
// and {a b} alternate, - negates, parentheses group, op:value and
// op:"quoted value" and op:(a b) apply operators, and bare words or "quoted
// phrases" search the subject, snippet, sender and recipients. Unknown
// operators are searched as text, as Gmail does.
type queryParser struct {
	toks []token
	pos  int
	mb   *Mailbox
	now  time.Time
	q    *query
}

type tokenKind int

const (
	tokWord tokenKind = iota
	tokOpen
	tokClose
	tokBraceOpen
	tokBraceClose
	tokNot
	tokOr
)

type token struct {
	kind  tokenKind
	op    string // operator before ':' (lower case), if any
	value string
	group bool // value was op:( ... )
}

// parseQuery compiles q. Callers hold mb.mu (label names are resolved).
func parseQuery(q string, mb *Mailbox, now time.Time) *query {
	p := &queryParser{toks: lexQuery(q), mb: mb, now: now, q: &query{}}
	var parts []matcher
	for p.pos < len(p.toks) {
		if m := p.parseOr(false); m != nil {
			parts = append(parts, m)
		} else {
			p.pos++ // stray closing bracket
		}
	}
	p.q.match = and(parts)
	return p.q
}

func lexQuery(q string) []token {
	var toks []token
	rs := []rune(q)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
			continue
		case r == '(':
			toks = append(toks, token{kind: tokOpen})
			i++
			continue
		case r == ')':
			toks = append(toks, token{kind: tokClose})
			i++
			continue
		case r == '{':
			toks = append(toks, token{kind: tokBraceOpen})
			i++
			continue
		case r == '}':
			toks = append(toks, token{kind: tokBraceClose})
			i++
			continue
		case r == '-' && i+1 < len(rs) && !unicode.IsSpace(rs[i+1]):
			toks = append(toks, token{kind: tokNot})
			i++
			continue
		case r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			toks = append(toks, token{kind: tokWord, value: string(rs[i+1 : min(j, len(rs))])})
			i = j + 1
			continue
		}
		j := i
		for j < len(rs) && !unicode.IsSpace(rs[j]) && rs[j] != ')' && rs[j] != '(' && rs[j] != '}' && rs[j] != '"' {
			if rs[j] == ':' {
				break
			}
			j++
		}
		word := string(rs[i:j])
		if j < len(rs) && rs[j] == ':' && j > i {
			op := strings.ToLower(word)
			k := j + 1
			switch {
			case k < len(rs) && rs[k] == '"':
				e := k + 1
				for e < len(rs) && rs[e] != '"' {
					e++
				}
				toks = append(toks, token{kind: tokWord, op: op, value: string(rs[k+1 : min(e, len(rs))])})
				i = e + 1
			case k < len(rs) && rs[k] == '(':
				e := k + 1
				for e < len(rs) && rs[e] != ')' {
					e++
				}
				toks = append(toks, token{kind: tokWord, op: op, value: string(rs[k+1 : min(e, len(rs))]), group: true})
				i = e + 1
			default:
				e := k
				for e < len(rs) && !unicode.IsSpace(rs[e]) && rs[e] != ')' && rs[e] != '}' {
					e++
				}
				toks = append(toks, token{kind: tokWord, op: op, value: string(rs[k:e])})
				i = e
			}
			continue
		}
		if j == i { // a lone ':' or similar
			j++
			word = string(rs[i:j])
		}
		if word == "OR" || word == "|" {
			toks = append(toks, token{kind: tokOr})
		} else if word != "AND" {
			toks = append(toks, token{kind: tokWord, value: word})
		}
		i = j
	}
	return toks
}

func (p *queryParser) peek() (token, bool) {
	if p.pos >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.pos], true
}

// parseOr parses and-sequences separated by OR.
func (p *queryParser) parseOr(negated bool) matcher {
	alts := []matcher{}
	if m := p.parseAnd(negated); m != nil {
		alts = append(alts, m)
	}
	for {
		t, ok := p.peek()
		if !ok || t.kind != tokOr {
			break
		}
		p.pos++
		if m := p.parseAnd(negated); m != nil {
			alts = append(alts, m)
		}
	}
	switch len(alts) {
	case 0:
		return nil
	case 1:
		return alts[0]
	}
	return or(alts)
}

// parseAnd parses unary terms up to OR or a closing bracket.
func (p *queryParser) parseAnd(negated bool) matcher {
	var parts []matcher
	for {
		t, ok := p.peek()
		if !ok || t.kind == tokOr || t.kind == tokClose || t.kind == tokBraceClose {
			break
		}
		if m := p.parseUnary(negated); m != nil {
			parts = append(parts, m)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return and(parts)
}

func (p *queryParser) parseUnary(negated bool) matcher {
	t, _ := p.peek()
	p.pos++
	switch t.kind {
	case tokNot:
		if _, ok := p.peek(); !ok {
			return nil
		}
		inner := p.parseUnary(!negated)
		if inner == nil {
			return nil
		}
		return func(v *view) bool { return !inner(v) }
	case tokOpen:
		m := p.parseOr(negated)
		if t, ok := p.peek(); ok && t.kind == tokClose {
			p.pos++
		}
		return m
	case tokBraceOpen:
		var alts []matcher
		for {
			t, ok := p.peek()
			if !ok {
				break
			}
			if t.kind == tokBraceClose {
				p.pos++
				break
			}
			if t.kind == tokOr {
				p.pos++
				continue
			}
			if m := p.parseUnary(negated); m != nil {
				alts = append(alts, m)
			}
		}
		if len(alts) == 0 {
			return nil
		}
		return or(alts)
	case tokWord:
		return p.term(t, negated)
	}
	return nil
}

func and(ms []matcher) matcher {
	if len(ms) == 1 {
		return ms[0]
	}
	return func(v *view) bool {
		for _, m := range ms {
			if !m(v) {
				return false
			}
		}
		return true
	}
}

func or(ms []matcher) matcher {
	return func(v *view) bool {
		for _, m := range ms {
			if m(v) {
				return true
			}
		}
		return false
	}
}

func never(*view) bool { return false }

// term compiles one word or op:value.
func (p *queryParser) term(t token, negated bool) matcher {
	if t.group {
		var parts []matcher
		orMode := false
		for _, w := range strings.Fields(t.value) {
			if w == "OR" {
				orMode = true
				continue
			}
			parts = append(parts, p.term(token{kind: tokWord, op: t.op, value: w}, negated))
		}
		if len(parts) == 0 {
			return nil
		}
		if orMode {
			return or(parts)
		}
		return and(parts)
	}
	if t.op == "" {
		return textMatcher(t.value)
	}
	val := t.value
	lower := strings.ToLower(val)
	switch t.op {
	case "from":
		if lower == "me" {
			val = p.mb.address
		}
		return func(v *view) bool { return containsFold(v.summary().from, val) }
	case "to", "cc", "bcc", "deliveredto":
		if lower == "me" {
			val = p.mb.address
		}
		return func(v *view) bool { return containsFold(v.summary().to, val) }
	case "subject":
		return func(v *view) bool { return containsFold(v.summary().subject, val) }
	case "list":
		return func(v *view) bool { return containsFold(v.summary().listID, val) }
	case "label", "in":
		return p.labelTerm(t.op, lower, negated)
	case "is":
		switch lower {
		case "unread":
			return hasLabel(lblUnread)
		case "read":
			return func(v *view) bool { return !v.m.labels.has(lblUnread) }
		case "starred":
			return hasLabel(lblStarred)
		case "unstarred":
			return func(v *view) bool { return !v.m.labels.has(lblStarred) }
		case "important":
			return hasLabel(lblImportant)
		}
		return never
	case "category":
		switch lower {
		case "primary", "personal":
			return hasLabel(lblPersonal)
		case "social":
			return hasLabel(lblSocial)
		case "promotions":
			return hasLabel(lblPromotions)
		case "updates":
			return hasLabel(lblUpdates)
		case "forums":
			return hasLabel(lblForums)
		}
		return never
	case "has":
		switch lower {
		case "attachment":
			return func(v *view) bool { return v.mb.hasAttachment(v.m) }
		case "userlabels":
			return func(v *view) bool { return hasUserLabel(v.m.labels) }
		case "nouserlabels":
			return func(v *view) bool { return !hasUserLabel(v.m.labels) }
		case "yellow-star":
			return hasLabel(lblStarred)
		}
		return never
	case "older_than", "newer_than":
		cutoff, ok := relativeCutoff(lower, p.now)
		if !ok {
			return never
		}
		if t.op == "older_than" {
			return func(v *view) bool { return v.m.date < cutoff }
		}
		return func(v *view) bool { return v.m.date > cutoff }
	case "after", "before", "older", "newer":
		at, ok := parseSearchDate(lower)
		if !ok {
			return never
		}
		if t.op == "after" || t.op == "newer" {
			return func(v *view) bool { return v.m.date >= at }
		}
		return func(v *view) bool { return v.m.date < at }
	case "larger", "smaller", "size":
		n, ok := parseSize(lower)
		if !ok {
			return never
		}
		if t.op == "smaller" {
			return func(v *view) bool { v.derived++; return v.mb.sizeOf(v.m) < n }
		}
		return func(v *view) bool { v.derived++; return v.mb.sizeOf(v.m) > n }
	case "rfc822msgid":
		return func(v *view) bool { return containsFold(v.mb.headerOf(v.m, "Message-ID"), val) }
	}
	return textMatcher(t.op + ":" + val)
}

func hasLabel(l uint16) matcher {
	return func(v *view) bool { return v.m.labels.has(l) }
}

func hasUserLabel(s labelSet) bool {
	return len(s) > 0 && s[len(s)-1] > lblForums
}

// labelTerm compiles label:x and in:x. Callers hold mb.mu.
func (p *queryParser) labelTerm(op, name string, negated bool) matcher {
	switch name {
	case "anywhere", "all":
		if op == "in" {
			if !negated {
				p.q.showsSpamTrash = true
			}
			return func(*view) bool { return true }
		}
	case "spam", "trash":
		if !negated {
			p.q.showsSpamTrash = true
		}
	case "drafts":
		name = "draft"
	case "chats", "chat":
		return never
	}
	for _, id := range systemLabelIDs() {
		if strings.EqualFold(id, name) {
			l, _ := p.mb.resolveLabel(id)
			return hasLabel(l)
		}
	}
	if l, ok := p.mb.resolveLabel(name); ok {
		return hasLabel(l)
	}
	// Gmail search writes spaces and slashes in label names as dashes.
	norm := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == ' ' || r == '/' || r == '&' {
				return '-'
			}
			return unicode.ToLower(r)
		}, s)
	}
	want := norm(name)
	for i, l := range p.mb.labels {
		if !l.deleted && (strings.EqualFold(l.name, name) || norm(l.name) == want) {
			return hasLabel(uint16(i))
		}
	}
	return never
}

// textMatcher matches a bare word or phrase against subject, snippet,
// sender and recipients, case-insensitively.
func textMatcher(word string) matcher {
	if word == "" {
		return nil
	}
	return func(v *view) bool {
		s := v.summary()
		if containsFold(s.subject, word) || containsFold(s.from, word) || containsFold(s.to, word) {
			return true
		}
		return containsFold(html.UnescapeString(v.snippet()), word)
	}
}

// containsFold reports whether sub is in s, ignoring case.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// relativeCutoff parses Nd, Nm or Ny into an internalDate cutoff in ms.
func relativeCutoff(s string, now time.Time) (int64, bool) {
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 0 {
		return 0, false
	}
	var t time.Time
	switch s[len(s)-1] {
	case 'd':
		t = now.AddDate(0, 0, -n)
	case 'm':
		t = now.AddDate(0, -n, 0)
	case 'y':
		t = now.AddDate(-n, 0, 0)
	default:
		return 0, false
	}
	return t.UnixMilli(), true
}

// parseSearchDate parses epoch seconds or a calendar date. Gmail reads
// calendar dates as midnight Pacific time; this fake uses a fixed UTC-8
// offset (PST) all year.
func parseSearchDate(s string) (int64, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n * 1000, true
	}
	pst := time.FixedZone("PST", -8*3600)
	for _, layout := range []string{"2006/1/2", "2006-1-2", "1/2/2006"} {
		if t, err := time.ParseInLocation(layout, s, pst); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}

// parseSize parses a byte count with an optional K or M suffix.
func parseSize(s string) (int64, bool) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1024, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mult, s = 1024*1024, strings.TrimSuffix(s, "m")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n * mult, true
}
