package fakegmail

import (
	"fmt"
	"html"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GenerateOptions tunes [Generate]. The zero value is a mailbox of
// me@example.com whose newest mail is from 2026-11-01 and oldest about five
// years earlier.
type GenerateOptions struct {
	// Address is the mailbox owner's address; default "me@example.com".
	Address string
	// OwnerName is the owner's display name; default "Alex Morgan".
	OwnerName string
	// End is the date of the newest message. The default is fixed (not
	// time.Now) so the same seed always yields the same ids.
	End time.Time
	// Span is how far back mail goes; default five years.
	Span time.Duration
}

type senderKind uint8

const (
	kindPerson senderKind = iota
	kindNewsletter
	kindNotice
	kindSocial
	kindForum
	kindSpam
	numKinds
)

// sender is one correspondent of a generated mailbox.
type sender struct {
	kind      senderKind
	name      string
	addr      string
	domain    string
	brand     string
	listID    string
	list      string
	unsub     bool
	oneClick  bool
	bulk      bool
	auth      uint8 // 0 none, 1 pass, 2 fail
	category  uint16
	userLabel uint16 // 0 = none
	zone      *time.Location
}

// genMeta is all a generated message stores about its content; the rest is
// derived from the mailbox seed on demand.
type genMeta struct {
	sender     uint32
	topic      uint64 // id of the thread's first message: seeds the subject
	depth      uint8  // position in the thread
	fromOwner  bool
	attachment bool
}

// generator derives message content from a seed.
type generator struct {
	seed      uint64
	owner     string
	ownerName string
	senders   []sender
	byKind    [numKinds][2]int // sender index range per kind
	v         *vocab
}

// Generate deterministically builds a realistic mailbox of n messages:
// people (some colleagues, threads with the owner's replies), newsletters with
// List-Unsubscribe and List-Id, receipts and alerts, social networks, mailing
// lists and spam, with Gmail categories, UNREAD/STARRED/IMPORTANT mixes, a
// few user labels and attachments, dates skewed to recent years. Message
// bodies are not stored: they are re-derived from the seed when requested,
// so 100,000 messages take a few tens of MB.
func Generate(seed int64, n int, opts GenerateOptions) *Mailbox {
	if opts.Address == "" {
		opts.Address = "me@example.com"
	}
	if opts.OwnerName == "" {
		opts.OwnerName = "Alex Morgan"
	}
	if opts.End.IsZero() {
		opts.End = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.Span <= 0 {
		opts.Span = 5 * 365 * 24 * time.Hour
	}
	mb := NewMailbox(opts.Address, seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d61696c626f78))
	g := &generator{seed: uint64(seed), owner: opts.Address, ownerName: opts.OwnerName, v: newVocab()}
	g.buildSenders(rng, n, mb)
	mb.gen = g

	protos := g.plan(rng, n, opts.End.UnixMilli(), opts.Span.Milliseconds())
	slices.SortStableFunc(protos, func(a, b proto) int {
		switch {
		case a.date < b.date:
			return -1
		case a.date > b.date:
			return 1
		}
		return 0
	})

	base := mb.historyID
	spread := uint64(n)*3 + 100
	roots := make(map[uint32]uint64)
	mb.order = make([]*message, 0, n)
	for i := range protos {
		p := &protos[i]
		id := mb.newIDLocked(p.date)
		root, ok := roots[p.unit]
		if !ok {
			root = id
			roots[p.unit] = id
		}
		m := &message{
			id:        id,
			threadID:  root,
			date:      p.date,
			historyID: base + 1 + uint64(rng.IntN(int(spread))),
			labels:    p.labels,
			wasInbox:  p.labels.has(lblInbox) || p.labels.has(lblTrash),
			gen: genMeta{
				sender:     p.sender,
				topic:      root,
				depth:      p.depth,
				fromOwner:  p.fromOwner,
				attachment: p.attachment,
			},
		}
		mb.msgs[id] = m
		mb.order = append(mb.order, m)
	}
	slices.SortFunc(mb.order, compareOrder)
	mb.historyID = base + spread + 1 + uint64(rng.IntN(1000))
	mb.historyFloor = mb.historyID
	return mb
}

// proto is a planned message before ids are assigned.
type proto struct {
	date       int64
	unit       uint32 // thread key
	sender     uint32
	labels     labelSet
	depth      uint8
	fromOwner  bool
	attachment bool
}

// buildSenders creates the sender pool and the user labels.
func (g *generator) buildSenders(rng *rand.Rand, n int, mb *Mailbox) {
	v := g.v
	pool := min(max(n/25, 40), 4000)
	share := [numKinds]float64{0.35, 0.25, 0.18, 0.06, 0.08, 0.08}
	ownerDomain := g.owner[strings.LastIndexByte(g.owner, '@')+1:]

	userLabels := []string{"Receipts", "Travel", "Work", "Work/Projects", "Family", "Newsletters/Tech"}
	var labelIdx []uint16
	for _, name := range userLabels {
		l, _ := mb.createLabelLocked(wireLabel{Name: name, MessageListVisibility: "show", LabelListVisibility: "labelShow"})
		labelIdx = append(labelIdx, mb.labelByID[l.id])
	}
	pickLabel := func(names ...int) uint16 { return labelIdx[names[rng.IntN(len(names))]] }

	brand := func() (string, string) {
		b := pick(rng, v.brandHead) + pick(rng, v.brandTail)
		return b, strings.ToLower(b) + "." + pick(rng, v.tlds)
	}
	zones := []*time.Location{
		time.FixedZone("", -8*3600), time.FixedZone("", -5*3600), time.UTC,
		time.FixedZone("", 3600), time.FixedZone("", 2*3600), time.FixedZone("", 19800),
	}
	for k := range numKinds {
		count := max(int(float64(pool)*share[k]), 3)
		g.byKind[k][0] = len(g.senders)
		for range count {
			s := sender{kind: k, zone: time.UTC, auth: 1}
			switch k {
			case kindPerson:
				first, last := pick(rng, v.first), pick(rng, v.last)
				s.name = first + " " + last
				s.category = lblPersonal
				s.zone = zones[rng.IntN(len(zones))]
				switch r := rng.Float64(); {
				case r < 0.25: // colleague
					s.domain = ownerDomain
					s.addr = strings.ToLower(first[:1] + last + "@" + ownerDomain)
					s.auth = 0
					if rng.Float64() < 0.5 {
						s.userLabel = pickLabel(2, 3)
					}
				case r < 0.8:
					s.domain = pick(rng, v.freeMail)
					s.addr = strings.ToLower(first + "." + last + "@" + s.domain)
					if rng.Float64() < 0.15 {
						s.userLabel = pickLabel(4)
					}
				default:
					s.domain = strings.ToLower(pick(rng, v.brandHead)) + "-" + strings.ToLower(pick(rng, v.brandTail)) + ".example"
					s.addr = strings.ToLower(first + "@" + s.domain)
				}
			case kindNewsletter:
				s.brand, s.domain = brand()
				s.name = strings.ReplaceAll(pick(rng, v.newsletterFormats), "{brand}", s.brand)
				s.addr = pick(rng, []string{"news@", "hello@mail.", "newsletter@", "team@e."}) + s.domain
				slug := strings.ToLower(strings.ReplaceAll(s.name, " ", "-"))
				s.listID = s.name + " <" + slug + ".list-id." + s.domain + ">"
				s.unsub, s.oneClick, s.bulk = true, rng.Float64() < 0.75, rng.Float64() < 0.5
				s.category = lblPromotions
				if rng.Float64() < 0.35 {
					s.category = lblUpdates
				}
				if rng.Float64() < 0.1 {
					s.userLabel = pickLabel(5)
				}
			case kindNotice:
				s.brand, s.domain = brand()
				s.name = s.brand
				s.addr = pick(rng, []string{"no-reply@", "notifications@", "billing@", "alerts@"}) + s.domain
				s.unsub = rng.Float64() < 0.3
				s.category = lblUpdates
				if rng.Float64() < 0.3 {
					s.userLabel = pickLabel(0, 1)
				}
			case kindSocial:
				s.brand, s.domain = brand()
				s.name = s.brand
				s.addr = "notification@" + s.domain
				s.unsub, s.oneClick = true, true
				s.listID = s.brand + " notifications <notify.list-id." + s.domain + ">"
				s.category = lblSocial
			case kindForum:
				s.list = pick(rng, v.lists)
				s.domain = "lists." + pick(rng, []string{"example.org", "example.net"})
				s.name = s.list
				s.addr = s.list + "@" + s.domain
				s.listID = "<" + s.list + "." + s.domain + ">"
				s.unsub = true
				s.category = lblForums
			case kindSpam:
				s.name = pick(rng, v.spamSenders)
				s.domain = fmt.Sprintf("%x%s.test", rng.Uint32()&0xfffff, strings.ToLower(pick(rng, v.brandTail)))
				s.addr = "info@" + s.domain
				s.auth = 2
				if rng.Float64() < 0.4 {
					s.auth = 0
				}
			}
			g.senders = append(g.senders, s)
		}
		g.byKind[k][1] = len(g.senders)
	}
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// plan draws the messages: kinds, senders, dates, threads and labels.
func (g *generator) plan(rng *rand.Rand, n int, end, span int64) []proto {
	weights := [numKinds]float64{0.20, 0.32, 0.24, 0.10, 0.08, 0.06}
	protos := make([]proto, 0, n)
	var unit uint32
	for len(protos) < n {
		k := kindPerson
		r := rng.Float64()
		for i, w := range weights {
			if r < w {
				k = senderKind(i)
				break
			}
			r -= w
		}
		lo, hi := g.byKind[k][0], g.byKind[k][1]
		// Few senders send most of the mail.
		si := uint32(lo + int(float64(hi-lo)*math.Pow(rng.Float64(), 2.2)))
		s := &g.senders[si]
		// Skew dates toward the recent end.
		date := end - int64(float64(span)*math.Pow(rng.Float64(), 1.6))
		size := 1
		if (k == kindPerson && rng.Float64() < 0.35) || (k == kindForum && rng.Float64() < 0.3) {
			size = 2 + rng.IntN(5)
		}
		size = min(size, n-len(protos))
		dates := make([]int64, size)
		dates[0] = date
		for i := 1; i < size; i++ {
			dates[i] = dates[i-1] + int64(time.Hour/time.Millisecond) + rng.Int64N(int64(72*time.Hour/time.Millisecond))
		}
		if shift := dates[size-1] - end; shift > 0 {
			for i := range dates {
				dates[i] -= shift
			}
		}
		ageDays := (end - date) / int64(24*time.Hour/time.Millisecond)
		inboxP := 0.35
		switch {
		case ageDays < 30:
			inboxP = 0.9
		case ageDays < 365:
			inboxP = 0.6
		}
		if k == kindNewsletter || k == kindSocial {
			inboxP += 0.15 // nobody archives newsletters
		}
		inInbox := rng.Float64() < inboxP
		trashed := k != kindSpam && rng.Float64() < 0.015
		for i := range size {
			fromOwner := k == kindPerson && i%2 == 1
			p := proto{
				date:      dates[i],
				unit:      unit,
				sender:    si,
				depth:     uint8(min(i, 255)),
				fromOwner: fromOwner,
			}
			p.labels = g.labelsFor(rng, s, k, fromOwner, inInbox, trashed, ageDays)
			if !fromOwner {
				switch k {
				case kindPerson:
					p.attachment = rng.Float64() < 0.06
				case kindNotice:
					p.attachment = rng.Float64() < 0.08
				case kindForum:
					p.attachment = rng.Float64() < 0.02
				}
			}
			protos = append(protos, p)
		}
		unit++
	}
	return protos
}

// missedSpam is the share of spam Gmail's filter lets into the inbox.
const missedSpam = 0.25

// labelsFor draws the labels of one message.
func (g *generator) labelsFor(rng *rand.Rand, s *sender, k senderKind, fromOwner, inInbox, trashed bool, ageDays int64) labelSet {
	var ls []uint16
	if fromOwner {
		ls = append(ls, lblSent)
		if rng.Float64() < 0.3 {
			ls = append(ls, lblImportant)
		}
		return newLabelSet(ls...)
	}
	if k == kindSpam {
		// Gmail's filter misses some: those land in the inbox's Primary
		// tab, where inboxq's own classifier has to catch them.
		if rng.Float64() < missedSpam {
			ls = append(ls, lblPersonal, lblInbox)
		} else {
			ls = append(ls, lblSpam)
		}
		if rng.Float64() < 0.9 {
			ls = append(ls, lblUnread)
		}
		return newLabelSet(ls...)
	}
	ls = append(ls, s.category)
	switch {
	case trashed:
		ls = append(ls, lblTrash)
	case inInbox:
		ls = append(ls, lblInbox)
	}
	unreadP := [numKinds]float64{0.08, 0.75, 0.4, 0.6, 0.5, 0.9}[k]
	if k == kindPerson && ageDays < 14 {
		unreadP = 0.3
	}
	if rng.Float64() < unreadP {
		ls = append(ls, lblUnread)
	}
	if rng.Float64() < [numKinds]float64{0.06, 0.005, 0.02, 0.005, 0.01, 0}[k] {
		ls = append(ls, lblStarred)
	}
	if rng.Float64() < [numKinds]float64{0.6, 0.05, 0.25, 0.02, 0.1, 0}[k] {
		ls = append(ls, lblImportant)
	}
	if s.userLabel != 0 && rng.Float64() < 0.8 {
		ls = append(ls, s.userLabel)
	}
	return newLabelSet(ls...)
}

// msgRand returns the per-message random source; topicRand the per-thread
// one that fixes the subject.
func (g *generator) msgRand(m *message) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed^m.id, 0x636f6e74656e74))
}

func (g *generator) topicRand(m *message) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed^m.gen.topic, 0x746f706963))
}

// fill replaces {placeholders} in a template. It expands by hand (no
// strings.Replacer) because it runs for every message a search touches.
func (g *generator) fill(rng *rand.Rand, tmpl string, s *sender) string {
	if !strings.Contains(tmpl, "{") {
		return tmpl
	}
	var b strings.Builder
	b.Grow(len(tmpl) + 32)
	g.expand(&b, rng, tmpl, s)
	return b.String()
}

func (g *generator) expand(b *strings.Builder, rng *rand.Rand, tmpl string, s *sender) {
	v := g.v
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			return
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return
		}
		b.WriteString(tmpl[:i])
		key := tmpl[i+1 : i+j]
		tmpl = tmpl[i+j+1:]
		switch key {
		case "topic":
			b.WriteString(pick(rng, v.topics))
		case "Topic":
			t := pick(rng, v.topics)
			b.WriteString(strings.ToUpper(t[:1]))
			b.WriteString(t[1:])
		case "place":
			b.WriteString(strings.ReplaceAll(pick(rng, v.places), "-", " "))
		case "weekday":
			b.WriteString(pick(rng, v.weekdays))
		case "month":
			b.WriteString(pick(rng, v.months))
		case "brand":
			b.WriteString(cmpOr(s.brand, s.name))
		case "product":
			b.WriteString(strings.ReplaceAll(pick(rng, v.products), "-", " "))
		case "device":
			b.WriteString(pick(rng, v.devices))
		case "person":
			b.WriteString(pick(rng, v.first))
			b.WriteByte(' ')
			b.WriteString(pick(rng, v.last))
		case "list":
			b.WriteString(s.list)
		case "n":
			b.WriteString(strconv.Itoa(3 + rng.IntN(40)))
		case "pct":
			b.WriteString(strconv.Itoa(10 + 5*rng.IntN(12)))
		case "order":
			b.WriteString(strconv.Itoa(100 + rng.IntN(900)))
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(1000000 + rng.IntN(9000000)))
		case "amount":
			b.WriteString(strconv.Itoa(1000 * (1 + rng.IntN(900))))
		default:
			b.WriteString(key)
		}
	}
}

// subject derives the thread subject (replies add "Re: ").
func (g *generator) subject(m *message, s *sender) string {
	rng := g.topicRand(m)
	var list []string
	switch s.kind {
	case kindPerson:
		list = g.v.personSubjects
	case kindNewsletter:
		list = g.v.newsSubjects
	case kindNotice:
		list = g.v.noticeSubjects
	case kindSocial:
		list = g.v.socialSubjects
	case kindForum:
		list = g.v.forumSubjects
	default:
		list = g.v.spamSubjects
	}
	subj := g.fill(rng, pick(rng, list), s)
	if m.gen.depth > 0 {
		if s.kind == kindForum {
			return strings.Replace(subj, "] ", "] Re: ", 1)
		}
		return "Re: " + subj
	}
	return subj
}

// wrapWriter writes words wrapping lines at 72 columns.
type wrapWriter struct {
	b   *strings.Builder
	col int
}

func (w *wrapWriter) word(s string) {
	if w.col > 0 {
		if w.col+1+len(s) > 72 {
			w.b.WriteByte('\n')
			w.col = 0
		} else {
			w.b.WriteByte(' ')
			w.col++
		}
	}
	w.b.WriteString(s)
	w.col += len(s)
}

// words writes every space-separated word of s.
func (w *wrapWriter) words(s string) {
	for s != "" {
		var f string
		f, s, _ = strings.Cut(s, " ")
		if f != "" {
			w.word(f)
		}
	}
}

// sentence writes one sentence: a template in the register of the sender
// or, sometimes, a run of vocabulary words.
func (g *generator) sentence(w *wrapWriter, rng *rand.Rand, s *sender, personal bool) {
	if rng.Float64() < 0.6 {
		var list []string
		switch {
		case personal:
			list = g.v.personalSentences
		case s.kind == kindNotice:
			list = g.v.noticeSentences
		case s.kind == kindSpam:
			list = g.v.spamSentences
		default:
			list = g.v.bulkSentences
		}
		w.words(g.fill(rng, pick(rng, list), s))
		return
	}
	n := 6 + rng.IntN(11)
	for i := range n {
		word := pick(rng, g.v.words)
		switch {
		case i == 0:
			w.word(strings.ToUpper(word[:1]) + word[1:])
		case i == n-1:
			w.word(word + pick(rng, []string{".", ".", ".", "?", "!"}))
		default:
			w.word(word)
		}
	}
}

// paragraph returns k sentences wrapped at 72 columns.
func (g *generator) paragraph(rng *rand.Rand, k int, s *sender, personal bool) string {
	var b strings.Builder
	b.Grow(k * 90)
	w := &wrapWriter{b: &b}
	for range k {
		g.sentence(w, rng, s, personal)
	}
	return b.String()
}

// Content levels of generator.build: each level includes the previous.
const (
	levelHeaders = iota // headers only: enough for from:, to:, subject:, list:
	levelText           // + the text body: enough for the snippet
	levelFull           // + HTML and attachment bytes: renderable
)

// content derives a generated message ready to render.
func (g *generator) content(m *message) *content { return g.build(m, levelFull) }

// summary derives what search needs; the snippet only when withSnippet.
func (g *generator) summary(m *message, withSnippet bool) summary {
	level := levelHeaders
	if withSnippet {
		level = levelText
	}
	c := g.build(m, level)
	s := summary{
		from:          headerValue(c.headers, "From"),
		to:            headerValue(c.headers, "To"),
		subject:       headerValue(c.headers, "Subject"),
		listID:        headerValue(c.headers, "List-Id"),
		hasAttachment: m.gen.attachment,
	}
	if withSnippet {
		s.snippet = makeSnippet(c.text)
	}
	return s
}

// build derives a generated message up to level. The random draws happen
// in a fixed order (headers, text, HTML, attachment), so every level agrees
// with the levels below it.
func (g *generator) build(m *message, level int) *content {
	s := &g.senders[m.gen.sender]
	rng := g.msgRand(m)
	v := g.v
	c := &content{boundary: formatID(m.id)}
	subject := g.subject(m, s)
	sent := time.UnixMilli(m.date - int64(1000+rng.IntN(30000))).In(s.zone)
	from := fmt.Sprintf("%s <%s>", s.name, s.addr)
	to := fmt.Sprintf("%s <%s>", g.ownerName, g.owner)
	fromDomain := s.domain
	if m.gen.fromOwner {
		from, to = to, from
		fromDomain = g.owner[strings.LastIndexByte(g.owner, '@')+1:]
	}
	personName := pick(rng, v.first) + " " + pick(rng, v.last)
	if s.kind == kindForum {
		from = fmt.Sprintf("'%s' via %s <%s>", personName, s.list, s.addr)
	}
	octet := 1 + rng.IntN(250)
	ip := fmt.Sprintf("203.0.113.%d", octet)
	h := func(name, value string) { c.headers = append(c.headers, Header{Name: name, Value: value}) }

	if !m.gen.fromOwner {
		h("Delivered-To", g.owner)
		h("Received", fmt.Sprintf("from mail-%d.%s (mail-%d.%s. [%s]) by mx.google.com with ESMTPS id %s for <%s>; %s",
			octet, fromDomain, octet, fromDomain, ip, formatID(rng.Uint64())[:12], g.owner,
			time.UnixMilli(m.date).UTC().Format(time.RFC1123Z)))
		bounce := "bounce@" + fromDomain
		h("Return-Path", "<"+bounce+">")
		switch s.auth {
		case 1:
			h("Authentication-Results", fmt.Sprintf("mx.google.com; dkim=pass header.i=@%s header.s=s%d header.b=%s; spf=pass (google.com: domain of %s designates %s as permitted sender) smtp.mailfrom=%s; dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=%s",
				fromDomain, 1+rng.IntN(3), formatID(rng.Uint64())[:8], bounce, ip, bounce, fromDomain))
		case 2:
			h("Authentication-Results", fmt.Sprintf("mx.google.com; dkim=fail header.i=@%s; spf=softfail (google.com: domain of transitioning %s does not designate 198.51.100.%d as permitted sender) smtp.mailfrom=%s; dmarc=fail (p=NONE sp=NONE dis=NONE) header.from=%s",
				fromDomain, s.addr, rng.IntN(250), s.addr, fromDomain))
		}
	}
	h("Date", sent.Format(time.RFC1123Z))
	h("From", from)
	h("To", to)
	msgID := fmt.Sprintf("<%s.%d@mail.%s>", formatID(m.id), rng.IntN(100000), fromDomain)
	h("Message-ID", msgID)
	h("Subject", subject)
	if m.gen.depth > 0 {
		root := fmt.Sprintf("<%s@mail.%s>", formatID(m.gen.topic), s.domain)
		h("In-Reply-To", root)
		h("References", root)
	}
	if s.listID != "" {
		h("List-Id", s.listID)
	}
	if s.unsub {
		token := formatID(rng.Uint64())
		if s.kind == kindForum {
			h("List-Unsubscribe", fmt.Sprintf("<mailto:%s+unsubscribe@%s>", s.list, s.domain))
		} else {
			h("List-Unsubscribe", fmt.Sprintf("<https://%s/unsubscribe?u=%s>, <mailto:unsubscribe@%s?subject=unsubscribe>", s.domain, token, s.domain))
		}
		if s.oneClick {
			h("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
		}
	}
	if s.bulk || s.kind == kindForum {
		h("Precedence", "bulk")
	}

	if level == levelHeaders {
		return c
	}

	ownerFirst := strings.Fields(g.ownerName)[0]
	var text strings.Builder
	var paras []string
	switch {
	case m.gen.fromOwner:
		text.WriteString(fmt.Sprintf("Hi %s,\n\n", strings.Fields(s.name)[0]))
		paras = []string{g.paragraph(rng, 1+rng.IntN(3), s, true)}
	case s.kind == kindPerson:
		text.WriteString(fmt.Sprintf("%s %s,\n\n", pick(rng, v.greetings), ownerFirst))
		for range 1 + rng.IntN(3) {
			paras = append(paras, g.paragraph(rng, 1+rng.IntN(4), s, true))
		}
	case s.kind == kindNewsletter:
		for range 4 + rng.IntN(8) {
			paras = append(paras, g.paragraph(rng, 2+rng.IntN(4), s, false))
		}
	case s.kind == kindNotice:
		paras = append(paras, g.paragraph(rng, 2, s, false),
			fmt.Sprintf("Reference: %s-%06d\nAmount: $%d.%02d", strings.ToUpper(s.brand[:3]), rng.IntN(1000000), 5+rng.IntN(400), rng.IntN(100)),
			g.paragraph(rng, 1, s, false))
	case s.kind == kindSocial:
		paras = append(paras, fmt.Sprintf("%s and %d others have new activity.", personName, 1+rng.IntN(30)), g.paragraph(rng, 1+rng.IntN(2), s, false))
	case s.kind == kindForum:
		for range 1 + rng.IntN(4) {
			paras = append(paras, g.paragraph(rng, 1+rng.IntN(4), s, true))
		}
	default:
		paras = append(paras, "Dear friend,", g.paragraph(rng, 3+rng.IntN(3), s, false))
	}
	text.WriteString(strings.Join(paras, "\n\n"))
	switch {
	case m.gen.fromOwner:
		text.WriteString("\n\n" + ownerFirst + "\n")
	case s.kind == kindPerson:
		text.WriteString(fmt.Sprintf("\n\n%s,\n%s\n", pick(rng, v.closings), strings.Fields(s.name)[0]))
	case s.kind == kindForum:
		text.WriteString(fmt.Sprintf("\n\n--\nYou received this message because you are subscribed to the %q group.\nTo unsubscribe, send email to %s+unsubscribe@%s.\n", s.list, s.list, s.domain))
	case s.unsub:
		text.WriteString(fmt.Sprintf("\n\nYou are receiving this email because you signed up at %s.\nUnsubscribe: https://%s/unsubscribe\n", s.domain, s.domain))
	}
	c.text = text.String()

	if level == levelFull {
		if s.kind != kindPerson && s.kind != kindForum && !m.gen.fromOwner {
			c.html = g.html(rng, s, subject, paras)
		} else if s.kind == kindPerson {
			c.html = "<div dir=\"ltr\">" + strings.ReplaceAll(htmlEscape(c.text), "\n", "<br>\n") + "</div>\n"
		}
		if m.gen.attachment {
			c.attachments = []Attachment{g.attachment(rng, s)}
		}
	}
	return c
}

func htmlEscape(s string) string {
	return html.EscapeString(s)
}

// html renders a newsletter-style HTML body: tables and inline styles make
// it much larger than the text, as in real bulk mail.
func (g *generator) html(rng *rand.Rand, s *sender, subject string, paras []string) string {
	var b strings.Builder
	color := fmt.Sprintf("#%06x", rng.IntN(1<<24))
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>")
	b.WriteString(htmlEscape(subject))
	b.WriteString("</title>\n<style>body{margin:0;padding:0;background:#f4f4f4}td{font-family:Helvetica,Arial,sans-serif}</style></head>\n")
	b.WriteString("<body><table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\">\n")
	b.WriteString(fmt.Sprintf("<tr><td style=\"background:%s;color:#ffffff;padding:24px;font-size:24px;font-weight:bold\">%s</td></tr>\n", color, htmlEscape(s.name)))
	for i, p := range paras {
		b.WriteString("<tr><td style=\"padding:16px 24px;font-size:15px;line-height:22px;color:#333333;background:#ffffff;border-bottom:1px solid #eeeeee\">\n")
		b.WriteString(htmlEscape(p))
		b.WriteString("\n</td></tr>\n")
		if s.kind == kindNewsletter && i%2 == 0 {
			b.WriteString(fmt.Sprintf("<tr><td style=\"padding:8px 24px\"><a href=\"https://%s/r/%s\" style=\"display:inline-block;background:%s;color:#ffffff;padding:12px 20px;border-radius:4px;text-decoration:none\">Read more</a></td></tr>\n",
				s.domain, formatID(rng.Uint64())[:10], color))
		}
	}
	if s.unsub {
		b.WriteString(fmt.Sprintf("<tr><td style=\"padding:24px;font-size:12px;color:#888888\">You are receiving this email because you signed up at %s. <a href=\"https://%s/unsubscribe\">Unsubscribe</a></td></tr>\n", s.domain, s.domain))
	}
	b.WriteString("</table></body></html>\n")
	return b.String()
}

// attachment derives a deterministic file of 2-64 KB.
func (g *generator) attachment(rng *rand.Rand, s *sender) Attachment {
	size := 2048 + rng.IntN(62*1024)
	data := make([]byte, size)
	for i := 0; i < size; i += 8 {
		x := rng.Uint64()
		for j := 0; j < 8 && i+j < size; j++ {
			data[i+j] = byte(x >> (8 * j))
		}
	}
	switch s.kind {
	case kindNotice:
		copy(data, "%PDF-1.4\n")
		return Attachment{Filename: fmt.Sprintf("invoice-%06d.pdf", rng.IntN(1000000)), MimeType: "application/pdf", Data: data}
	case kindForum:
		return Attachment{Filename: "patch.diff", MimeType: "text/x-diff", Data: []byte(g.paragraph(rng, 8, s, true))}
	}
	if rng.IntN(2) == 0 {
		copy(data, "\xff\xd8\xff\xe0\x00\x10JFIF")
		return Attachment{Filename: fmt.Sprintf("IMG_%04d.jpg", rng.IntN(10000)), MimeType: "image/jpeg", Data: data}
	}
	copy(data, "%PDF-1.4\n")
	return Attachment{Filename: "notes.pdf", MimeType: "application/pdf", Data: data}
}
