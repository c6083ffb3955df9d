package classify

import (
	"unicode"
	"unicode/utf8"
)

// Tokens are hashed as they are read (FNV-1a over the lowercased bytes,
// seeded by the field they come from), so tokenizing allocates nothing and a
// model is a flat array of per-bucket weights.

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
	// maxTokenLen skips longer runs: base64 debris and URLs' query strings
	// (each skipped run still counts as a "long word" feature).
	maxTokenLen = 40
	// maxTokens bounds the tokens read of one message.
	maxTokens = 4096
	// shapeWindow is how much of the body the shape features look at: about
	// a snippet, so a stored message and its raw text agree.
	shapeWindow = 200
)

// Fields seed the hash, so "free" in a subject and "free" in a body are
// different features.
const (
	fieldSubject  = 's'
	fieldFrom     = 'f'
	fieldDomain   = 'd'
	fieldName     = 'n'
	fieldBody     = 'b'
	fieldType     = 't'
	fieldMailer   = 'm'
	fieldNoSender = 'x'
	fieldTLD      = 'T'
	fieldSite     = 'R' // the sender domain's last two labels
	fieldHeader   = 'h' // presence of list headers, Precedence, no mailer
	fieldShape    = 'S' // shape of subject, name, sender and body start
	fieldLong     = 'k' // a word longer than maxTokenLen: first byte, length/10
)

// nextToken returns the bounds of the first token of s at or after i, or
// start == len(s) when there is none. A token is a run of ASCII letters and
// digits (and any non-ASCII bytes, so words in other scripts count), or a run
// of '!' or '$', which spam is fond of. Runs longer than maxTokenLen are
// returned with long set (they are hashed by shape, see hashLong).
func nextToken(s string, i int) (start, end int, long bool) {
	for i < len(s) {
		c := s[i]
		switch {
		case isWordByte(c):
			j := i + 1
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			if j-i > maxTokenLen {
				return i, j, true
			}
			if j-i >= 2 {
				return i, j, false
			}
			i = j
		case c == '!' || c == '$':
			j := i + 1
			for j < len(s) && s[j] == c {
				j++
			}
			return i, j, false
		default:
			i++
		}
	}
	return len(s), len(s), false
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hashToken hashes s[start:end] lowercased, seeded by field. A run of '!' or
// '$' hashes as its first byte: "!!!" and "!" are one feature.
func hashToken(s string, start, end int, field byte) uint32 {
	h := uint32(fnvOffset)
	h ^= uint32(field)
	h *= fnvPrime
	if c := s[start]; c == '!' || c == '$' {
		end = start + 1
	}
	for k := start; k < end; k++ {
		h ^= uint32(lower(s[k]))
		h *= fnvPrime
	}
	return h
}

// hashLong hashes a run longer than maxTokenLen by its first byte and its
// length in tens (capped): base64 debris, long URLs and unbroken runs of
// another script each look alike.
func hashLong(first byte, n int) uint32 {
	h := uint32(fnvOffset)
	for _, c := range [3]byte{fieldLong, lower(first), byte(min(n/10, 20))} {
		h ^= uint32(c)
		h *= fnvPrime
	}
	return h
}

// Features come in blocks, each scored on its own (see Model.Score).
const (
	blockSender  = iota // address, domain, display name and their shapes
	blockSubject        // subject words and shapes
	blockForm           // content type, mailer, list headers, the body's shapes
	blockBody           // body words
	numBlocks
)

// sink receives features: hashes go to hs, and ends[b] is len(hs) after
// block b; with fn set (explanations), each feature is also reported with
// its field and text.
type sink struct {
	hs   []uint32
	ends [numBlocks]int
	fn   func(h uint32, field byte, text string)
}

func (k *sink) add(h uint32, field byte, text string) {
	k.hs = append(k.hs, h)
	if k.fn != nil {
		k.fn(h, field, text)
	}
}

// text adds the tokens of s, stopping at maxTokens in all. (Adjacent pairs
// as features scored worse in cross-validation, see docs/architecture.md.)
func (k *sink) text(s string, field byte) {
	for i := 0; len(k.hs) < maxTokens; {
		start, end, long := nextToken(s, i)
		if start == len(s) {
			break
		}
		if long {
			k.add(hashLong(s[start], end-start), fieldLong, s[start:end])
		} else {
			k.add(hashToken(s, start, end, field), field, s[start:end])
		}
		i = end
	}
}

// whole adds s as one token (a domain, a media type, a shape).
func (k *sink) whole(s string, field byte) {
	if s != "" && len(k.hs) < maxTokens {
		k.add(hashToken(s, 0, len(s), field), field, s)
	}
}

// features appends the hashes of every feature of msg to dst.
func features(dst []uint32, msg *Message) []uint32 {
	hs, _ := featureBlocks(dst, msg)
	return hs
}

// featureBlocks appends the hashes of every feature of msg to dst and
// returns where each block ends.
func featureBlocks(dst []uint32, msg *Message) ([]uint32, [numBlocks]int) {
	k := sink{hs: dst}
	base := len(dst)
	k.message(msg)
	for b := range k.ends {
		k.ends[b] -= base
	}
	return k.hs, k.ends
}

// walkFeatures calls fn for every feature of msg with its hash, field and
// text, in the order and with the hashes that features produces.
func walkFeatures(msg *Message, fn func(h uint32, field byte, text string)) {
	k := sink{fn: fn}
	k.message(msg)
}

// message adds the features of msg. Everything here is something a stored
// message has too (subject, sender, snippet, the list headers, content
// type, mailer), so one model serves raw and stored mail.
func (k *sink) message(msg *Message) {
	k.sender(msg)
	k.ends[blockSender] = len(k.hs)
	k.subject(msg.Subject)
	k.ends[blockSubject] = len(k.hs)
	k.whole(msg.ContentType, fieldType)
	k.text(msg.Mailer, fieldMailer)
	k.headers(msg)
	b := msg.Body[:min(len(msg.Body), shapeWindow)]
	k.whole(caseShape(shapeBody, b), fieldShape)
	k.whole(eightBitShare(shapeBody, b), fieldShape)
	k.ends[blockForm] = len(k.hs)
	k.text(msg.Body, fieldBody)
	k.ends[blockBody] = len(k.hs)
}

// sender adds the address's words, its domain whole, the domain's
// registrable part and top-level domain (which generalise to hosts never
// seen: mail.example.biz is still .biz), the display name's words, and their
// shapes: no name, a shouting name, digits in the address.
func (k *sink) sender(msg *Message) {
	if msg.From == "" {
		k.whole("none", fieldNoSender)
	}
	k.text(msg.From, fieldFrom)
	if domain := domainOf(msg.From); domain != "" {
		k.whole(domain, fieldDomain)
		tld := lastLabels(domain, 1)
		k.whole(tld, fieldTLD)
		if site := lastLabels(domain, 2); site != tld && site != domain {
			k.whole(site, fieldSite)
		}
	}
	k.text(msg.FromName, fieldName)
	if msg.FromName == "" {
		k.whole("name-empty", fieldShape)
	} else {
		k.whole(caseShape(shapeName, msg.FromName), fieldShape)
	}
	if at := lastIndexByte(msg.From, '@'); at > 0 && digitRun(msg.From[:at]) >= 3 {
		k.whole("from-digits", fieldShape)
	}
}

// subject adds the subject's words and its shape, evidence that outlives
// any one campaign's words: a shouting subject, "!!", a price, a
// percentage, a run of digits or a padded tracking id, a reply, text in a
// non-Latin encoding.
func (k *sink) subject(s string) {
	k.text(s, fieldSubject)
	switch {
	case s == "":
		k.whole("subject-empty", fieldShape)
	default:
		k.whole(caseShape(shapeSubject, s), fieldShape)
	}
	if hasRun(s, '!', 2) {
		k.whole("subject-bangs", fieldShape)
	}
	if indexByte(s, '$') >= 0 {
		k.whole("subject-dollar", fieldShape)
	}
	if indexByte(s, '%') >= 0 {
		k.whole("subject-percent", fieldShape)
	}
	if digitRun(s) >= 4 {
		k.whole("subject-digits", fieldShape)
	}
	if hasRun(s, ' ', 3) {
		k.whole("subject-padded", fieldShape)
	}
	if mixedLastWord(s) {
		k.whole("subject-ends-in-id", fieldShape)
	}
	if len(s) >= 3 && lower(s[0]) == 'r' && lower(s[1]) == 'e' && (s[2] == ':' || s[2] == ' ') {
		k.whole("subject-reply", fieldShape)
	}
	k.whole(eightBitShare(shapeSubject, s), fieldShape)
}

// headers adds the presence of the list headers and Precedence: bulk mail
// carries them, and so does spam dressed as bulk mail.
func (k *sink) headers(msg *Message) {
	if msg.ListUnsubscribe != "" {
		k.whole("list-unsubscribe", fieldHeader)
	}
	if msg.ListID != "" {
		k.whole("list-id", fieldHeader)
	}
	if msg.ListPost != "" {
		k.whole("list-post", fieldHeader)
	}
	switch msg.Precedence {
	case "":
	case "bulk":
		k.whole("precedence-bulk", fieldHeader)
	case "list":
		k.whole("precedence-list", fieldHeader)
	case "junk":
		k.whole("precedence-junk", fieldHeader)
	default:
		k.whole("precedence-other", fieldHeader)
	}
	if msg.Mailer == "" {
		k.whole("no-mailer", fieldHeader)
	}
}

// caseShape says how much of s is upper case: "<what>-few-letters",
// "-all-caps", "-mostly-caps" or "-mixed" (constant strings: no allocation).
func caseShape(what int, s string) string {
	up, low := 0, 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c >= 'A' && c <= 'Z':
				up++
			case c >= 'a' && c <= 'z':
				low++
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if unicode.IsUpper(r) {
			up++
		} else if unicode.IsLower(r) {
			low++
		}
	}
	shape := 3
	switch {
	case up+low < 4:
		shape = 0
	case low == 0:
		shape = 1
	case 2*up > up+low:
		shape = 2
	}
	return caseShapes[what][shape]
}

// What a shape describes.
const (
	shapeSubject = iota
	shapeName
	shapeBody
)

var caseShapes = [...][4]string{
	shapeSubject: {"subject-few-letters", "subject-all-caps", "subject-mostly-caps", "subject-mixed"},
	shapeName:    {"name-few-letters", "name-all-caps", "name-mostly-caps", "name-mixed"},
	shapeBody:    {"body-few-letters", "body-all-caps", "body-mostly-caps", "body-mixed"},
}

// eightBitShare says how much of s is bytes outside ASCII (or ISO-2022
// escapes): none, some (under 10 %), or much.
func eightBitShare(what int, s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == 0x1b {
			n++
		}
	}
	shape := 2
	switch {
	case n == 0:
		shape = 0
	case 10*n < len(s):
		shape = 1
	}
	return eightBitShapes[what][shape]
}

var eightBitShapes = [...][3]string{
	shapeSubject: {"subject-ascii", "subject-some-8bit", "subject-much-8bit"},
	shapeBody:    {"body-ascii", "body-some-8bit", "body-much-8bit"},
}

// digitRun returns the length of the longest run of ASCII digits in s.
func digitRun(s string) int {
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

// hasRun reports whether s has n or more c in a row.
func hasRun(s string, c byte, n int) bool {
	cur := 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			cur++
			if cur >= n {
				return true
			}
		} else {
			cur = 0
		}
	}
	return false
}

// mixedLastWord reports whether the last of two or more words of s is at
// least 4 bytes of letters and digits mixed: spam's tracking ids
// ("... income FGTPR41L").
func mixedLastWord(s string) bool {
	end := len(s)
	for end > 0 && s[end-1] == ' ' {
		end--
	}
	start := end
	for start > 0 && s[start-1] != ' ' {
		start--
	}
	if start == 0 || end-start < 4 {
		return false
	}
	letters, digits := false, false
	for i := start; i < end; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters = true
		}
	}
	return letters && digits
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func lastIndexByte(s string, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// domainOf returns the part of an address after its last '@'.
func domainOf(addr string) string {
	if i := lastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// lastLabels returns the last n dot-separated labels of domain.
func lastLabels(domain string, n int) string {
	for i := len(domain) - 1; i >= 0; i-- {
		if domain[i] == '.' {
			n--
			if n == 0 {
				return domain[i+1:]
			}
		}
	}
	return domain
}
