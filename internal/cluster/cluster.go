// Package cluster groups a person's messages that belong together: the
// same newsletter or campaign, the same stream of notifications from one
// service, near-copies of one template sent from throwaway addresses. It
// is pure logic (no I/O); cluster_user_emails (internal/jobs) feeds it a
// mailbox in batches and stores what it returns.
//
// The method is keys, not a similarity search: a message's sender address
// is the strongest evidence of what it belongs to, so every address with
// at least MinSize messages is a cluster; the messages of addresses too
// small to be one are grouped by their subject template (lower case, the
// Re:/Fwd: prefixes dropped, every word with a digit masked), so a
// campaign sent from many domains is one cluster. A cluster's id is a hash
// of its key, so it stays the same across re-runs for as long as the
// cluster exists. See docs/architecture.md, "Clustering", for why and the
// measurements.
package cluster

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MinSize is the fewest messages a cluster has.
const MinSize = 3

// Message is what clustering reads of a stored message.
type Message struct {
	ID      string
	From    string // the From header: "Name <addr>" or a bare address
	Subject string
	Date    time.Time
	Unread  bool
}

// Cluster is a group of messages that belong together.
type Cluster struct {
	// ID is stable: a hash of Key.
	ID string
	// Key is what the messages share: "from:ADDRESS" or "subject:TEMPLATE".
	Key string
	// Label reads "Sender name · top terms".
	Label  string
	Sender string   // the most frequent address
	Terms  []string // the most frequent subject words, up to 3
	// Members are the messages' ids in ascending order.
	Members     []string
	First, Last time.Time
	Unread      int
}

// Size is the number of messages.
func (c *Cluster) Size() int { return len(c.Members) }

// group is the messages of one sender address.
type group struct {
	addr      string
	names     map[string]int
	members   []int32
	templates map[string]int
}

// Builder collects messages one batch at a time; memory is a few dozen
// bytes per message plus each sender's subject words.
type Builder struct {
	ids    []string
	dates  []int64
	unread []bool
	subj   []string // subject template per message
	group  []int32
	groups []*group
	byAddr map[string]int32
	self   map[string]bool
}

// NewBuilder returns an empty Builder that leaves out the mail of the
// mailbox's own addresses (self): what the person sent is no cluster of
// mail they receive.
func NewBuilder(self ...string) *Builder {
	b := &Builder{byAddr: map[string]int32{}, self: map[string]bool{}}
	for _, a := range self {
		b.self[strings.ToLower(a)] = true
	}
	return b
}

// Add reads one message.
func (b *Builder) Add(m Message) {
	name, addr := SplitFrom(m.From)
	if b.self[addr] {
		return
	}
	gi, ok := b.byAddr[addr]
	if !ok {
		gi = int32(len(b.groups))
		b.byAddr[addr] = gi
		b.groups = append(b.groups, &group{addr: addr, names: map[string]int{}, templates: map[string]int{}})
	}
	g := b.groups[gi]
	if _, list, ok := strings.Cut(name, " via "); ok {
		name = list // a list's post: "'Someone' via the-list"
	}
	i := int32(len(b.ids))
	g.members = append(g.members, i)
	if name != "" {
		g.names[name]++
	}
	t := Template(m.Subject)
	g.templates[t]++
	b.ids = append(b.ids, m.ID)
	b.dates = append(b.dates, m.Date.UnixMilli())
	b.unread = append(b.unread, m.Unread)
	b.subj = append(b.subj, t)
	b.group = append(b.group, gi)
}

// Len is the number of messages read.
func (b *Builder) Len() int { return len(b.ids) }

// Clusters returns the clusters, biggest first (then by key). Messages
// that fit none (a sender with one or two messages and a subject nobody
// else used) are left out.
func (b *Builder) Clusters() []Cluster {
	var out []Cluster
	small := map[string][]int32{} // template → messages of small senders
	for _, g := range b.groups {
		if len(g.members) >= MinSize {
			out = append(out, b.split(g)...)
			continue
		}
		for _, i := range g.members {
			small[b.subj[i]] = append(small[b.subj[i]], i)
		}
	}
	for t, members := range small {
		if len(members) < MinSize || t == "" {
			continue
		}
		senders := map[int32]bool{}
		for _, i := range members {
			senders[b.group[i]] = true
		}
		if len(senders) < 2 {
			continue // a thread with one person is not a campaign
		}
		out = append(out, b.cluster("subject:"+t, members))
	}
	slices.SortFunc(out, func(x, y Cluster) int {
		return cmp.Or(cmp.Compare(y.Size(), x.Size()), cmp.Compare(x.Key, y.Key))
	})
	return out
}

// splitShare is the share of a sender's messages that its frequent subject
// templates must cover for the sender to be split by template: a service
// that sends a few fixed kinds of notification (receipts, shipping,
// security alerts) is, a newsletter whose subjects change every issue is
// not.
const splitShare = 0.8

// split returns a sender's clusters: one, or one per frequent subject
// template (key "from:ADDRESS subject:TEMPLATE") and one of the rest
// ("from:ADDRESS") when the rest is big enough.
func (b *Builder) split(g *group) []Cluster {
	var frequent []string
	covered := 0
	for t, n := range g.templates {
		if n >= MinSize && t != "" {
			frequent = append(frequent, t)
			covered += n
		}
	}
	if !automated(g.addr) || len(frequent) < 2 || float64(covered) < splitShare*float64(len(g.members)) {
		return []Cluster{b.cluster("from:"+g.addr, g.members)}
	}
	slices.Sort(frequent)
	by := map[string][]int32{}
	var rest []int32
	for _, i := range g.members {
		t := b.subj[i]
		if _, ok := slices.BinarySearch(frequent, t); ok {
			by[t] = append(by[t], i)
		} else {
			rest = append(rest, i)
		}
	}
	out := make([]Cluster, 0, len(frequent)+1)
	for _, t := range frequent {
		out = append(out, b.cluster("from:"+g.addr+" subject:"+t, by[t]))
	}
	if len(rest) >= MinSize {
		out = append(out, b.cluster("from:"+g.addr, rest))
	}
	return out
}

// automatedParts are address local parts of services that send
// notifications rather than people or publications.
var automatedParts = []string{"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "notification", "alert",
	"billing", "receipt", "order", "shipping", "security", "account", "statement", "reminder"}

// automated reports whether addr looks like a service's notifications
// sender: only those are split by subject template (a person's threads or
// a list's topics are not kinds of notification).
func automated(addr string) bool {
	local, _, _ := strings.Cut(addr, "@")
	return slices.ContainsFunc(automatedParts, func(p string) bool { return strings.Contains(local, p) })
}

// cluster builds a cluster of members under key.
func (b *Builder) cluster(key string, members []int32) Cluster {
	sum := sha256.Sum256([]byte(key))
	c := Cluster{ID: hex.EncodeToString(sum[:8]), Key: key, Members: make([]string, len(members))}
	first, last := b.dates[members[0]], b.dates[members[0]]
	addrs := map[string]int{}
	names := map[string]int{}
	words := map[string]int{}
	for k, i := range members {
		c.Members[k] = b.ids[i]
		first, last = min(first, b.dates[i]), max(last, b.dates[i])
		if b.unread[i] {
			c.Unread++
		}
		g := b.groups[b.group[i]]
		addrs[g.addr]++
		seen := map[string]bool{}
		for _, w := range strings.Fields(b.subj[i]) {
			if !seen[w] && len(w) > 2 && w != "#" && !stop[w] {
				words[w]++
				seen[w] = true
			}
		}
	}
	slices.Sort(c.Members)
	c.First, c.Last = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
	c.Sender = top(addrs, 1)[0]
	for n, k := range b.groups[b.byAddr[c.Sender]].names {
		names[n] += k
	}
	// Words of the sender's name and address say nothing new.
	nameWords := strings.FieldsFunc(strings.ToLower(c.Sender+" "+strings.Join(top(names, 1), " ")), notWord)
	for _, w := range nameWords {
		delete(words, w)
	}
	delete(words, "@")
	for _, w := range top(words, 3) {
		// A term in most of the cluster's subjects, or at least in several.
		if words[w]*5 >= len(members) || words[w] >= 2 {
			c.Terms = append(c.Terms, w)
		}
	}
	who := c.Sender
	if n := top(names, 1); len(n) > 0 && n[0] != "" {
		who = n[0]
	}
	c.Label = who
	if len(c.Terms) > 0 {
		c.Label += " · " + strings.Join(c.Terms, ", ")
	}
	return c
}

// top returns up to k keys of counts, most frequent first (ties by key).
func top(counts map[string]int, k int) []string {
	keys := make([]string, 0, len(counts))
	for key := range counts {
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(x, y string) int { return cmp.Or(cmp.Compare(counts[y], counts[x]), cmp.Compare(x, y)) })
	if len(keys) == 0 {
		return []string{""}
	}
	return keys[:min(k, len(keys))]
}

func notWord(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// stop are words too common in subjects to name a cluster by.
var stop = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields("the and for you your with from this that are has have was new now our all out get its not but " +
		"more off on in of to a an is it at by be we re fwd fw via about what whats how why who when into just dont can") {
		m[w] = true
	}
	return m
}()

// dateWords are month and weekday names, masked in templates.
var dateWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields("january february march april may june july august september october november december " +
		"jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday " +
		"mon tue wed thu fri sat sun today tomorrow yesterday") {
		m[w] = true
	}
	return m
}()

// Template is a subject with what varies between copies of one template
// taken out: lower case, Re:/Fwd: prefixes dropped, punctuation gone,
// every word with a digit written "#" and month and weekday names "@".
func Template(subject string) string {
	s := strings.ToLower(strings.TrimSpace(subject))
	for {
		t := strings.TrimLeft(s, " ")
		for _, p := range []string{"re:", "fwd:", "fw:", "aw:"} {
			t = strings.TrimPrefix(t, p)
		}
		t = strings.TrimLeft(t, " ")
		if t == s {
			break
		}
		s = t
	}
	s = strings.NewReplacer("'", "", "’", "").Replace(s) // "don't" is one word
	words := strings.FieldsFunc(s, func(r rune) bool { return notWord(r) && r != '#' && r != '$' && r != '%' })
	out := words[:0]
	for _, w := range words {
		if strings.ContainsFunc(w, unicode.IsDigit) {
			w = "#"
		} else if dateWords[w] {
			w = "@" // a month or a weekday: the same template another day
		}
		if w == "#" && len(out) > 0 && out[len(out)-1] == "#" {
			continue // "#123-4567" is one id
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// SplitFrom returns a From header's display name and lower-case address.
func SplitFrom(from string) (name, addr string) {
	from = strings.TrimSpace(from)
	if i := strings.LastIndexByte(from, '<'); i >= 0 {
		addr = from[i+1:]
		if j := strings.IndexByte(addr, '>'); j >= 0 {
			addr = addr[:j]
		}
		name = strings.Trim(strings.TrimSpace(from[:i]), `"'`)
	} else {
		addr = from
	}
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "")
	}
	return name, strings.ToLower(strings.TrimSpace(addr))
}
