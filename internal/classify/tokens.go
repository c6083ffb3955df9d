package classify

// Tokens are hashed as they are read (FNV-1a over the lowercased bytes,
// seeded by the field they come from), so tokenizing allocates nothing and a
// model is a flat array of per-bucket weights.

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
	// maxTokenLen skips longer runs: base64 debris and URLs' query strings.
	maxTokenLen = 40
	// maxTokens bounds the tokens read of one message.
	maxTokens = 4096
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
)

// nextToken returns the bounds of the first token of s at or after i, or
// start == len(s) when there is none. A token is a run of ASCII letters and
// digits (and any non-ASCII bytes, so words in other scripts count), or a run
// of '!' or '$', which spam is fond of.
func nextToken(s string, i int) (start, end int) {
	for i < len(s) {
		c := s[i]
		switch {
		case isWordByte(c):
			j := i + 1
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			if j-i <= maxTokenLen && j-i >= 2 {
				return i, j
			}
			i = j
		case c == '!' || c == '$':
			j := i + 1
			for j < len(s) && s[j] == c {
				j++
			}
			return i, j
		default:
			i++
		}
	}
	return len(s), len(s)
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
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
		c := s[k]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint32(c)
		h *= fnvPrime
	}
	return h
}

// appendText appends the hashes of the tokens of s to dst, stopping at
// maxTokens in all. (Adjacent pairs as features scored worse in
// cross-validation: 95.2 % of spam caught against 96.8 % without.)
func appendText(dst []uint32, s string, field byte) []uint32 {
	for i := 0; len(dst) < maxTokens; {
		start, end := nextToken(s, i)
		if start == len(s) {
			break
		}
		dst = append(dst, hashToken(s, start, end, field))
		i = end
	}
	return dst
}

// appendWhole appends the hash of s as one token (a domain, a media type).
func appendWhole(dst []uint32, s string, field byte) []uint32 {
	if s == "" {
		return dst
	}
	return append(dst, hashToken(s, 0, len(s), field))
}

// features appends the hashes of every feature of msg to dst.
func features(dst []uint32, msg *Message) []uint32 {
	dst = appendText(dst, msg.Subject, fieldSubject)
	if msg.From == "" {
		dst = appendWhole(dst, "none", fieldNoSender)
	}
	dst = appendText(dst, msg.From, fieldFrom)
	dst = appendWhole(dst, domainOf(msg.From), fieldDomain)
	dst = appendText(dst, msg.FromName, fieldName)
	dst = appendWhole(dst, msg.ContentType, fieldType)
	dst = appendText(dst, msg.Mailer, fieldMailer)
	dst = appendText(dst, msg.Body, fieldBody)
	return dst
}

// domainOf returns the part of an address after its last '@'.
func domainOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[i+1:]
		}
	}
	return ""
}
