package classify

import "strings"

// labelRule decides from Gmail's own labels: its spam filter and its
// category tabs are the best evidence there is.
func labelRule(msg *Message) (Decision, bool) {
	for _, l := range msg.Labels {
		var c Category
		switch strings.ToUpper(l) {
		case "SPAM":
			c = Spam
		case "CATEGORY_SOCIAL":
			c = Social
		case "CATEGORY_PROMOTIONS":
			c = Promotions
		case "CATEGORY_UPDATES":
			c = Updates
		case "CATEGORY_FORUMS":
			c = Forums
		default:
			// CATEGORY_PERSONAL (the Primary tab) is where Gmail puts what
			// it did not sort elsewhere, spam it missed included: no
			// evidence either way, so the model decides.
			continue
		}
		if (c == Promotions || c == Updates) && msg.ListID != "" && !isNoReply(msg.From) && !promotional(msg.Subject) {
			// Gmail files newsletters under Promotions or Updates; a
			// List-Id without an offer in the subject says which they are.
			return Decision{Category: Newsletters, Confidence: labelConfidence, Source: SourceRule, Rule: "newsletter-list"}, true
		}
		return Decision{Category: c, Spam: c == Spam, Confidence: labelConfidence, Source: SourceRule, Rule: "gmail-label:" + strings.ToUpper(l)}, true
	}
	return Decision{}, false
}

// promotional reports whether a subject reads like an offer.
func promotional(subject string) bool {
	for _, w := range promoWords {
		if containsFold(subject, w) {
			return true
		}
	}
	return false
}

const labelConfidence = 0.99

// socialDomains send notifications from social networks.
var socialDomains = []string{
	"facebookmail.com", "linkedin.com", "twitter.com", "x.com", "instagram.com",
	"pinterest.com", "reddit.com", "redditmail.com", "tiktok.com", "mastodon.social",
	"discord.com", "meetup.com", "nextdoor.com", "youtube.com",
}

// promoWords in a subject mark a bulk message as a promotion, not a newsletter.
var promoWords = []string{"% off", "sale", "deal", "discount", "coupon", "offer", "free shipping", "save ", "limited time", "promo"}

// headerRule sorts mail that is not spam by the evidence in its headers.
func headerRule(msg *Message) (Category, string, bool) {
	domain := domainOf(msg.From)
	for _, d := range socialDomains {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return Social, "social-sender", true
		}
	}
	// Discussion lists say where to post (RFC 2369 List-Post); newsletters
	// have no such address, or say "NO".
	if post := strings.TrimSpace(msg.ListPost); post != "" && !strings.EqualFold(post, "NO") {
		return Forums, "mailing-list", true
	}
	if msg.ListUnsubscribe != "" || msg.ListID != "" || msg.Precedence == "bulk" || msg.Precedence == "junk" || msg.Precedence == "list" {
		if promotional(msg.Subject) {
			return Promotions, "bulk-promotion", true
		}
		return Newsletters, "bulk-sender", true
	}
	if isNoReply(msg.From) {
		return Updates, "no-reply-sender", true
	}
	return "", "", false
}

// noReplyPrefixes start the local part of addresses that take no replies
// (compared without '-', '_' and '.', so "no-reply" and "do_not_reply" match).
var noReplyPrefixes = []string{"noreply", "donotreply", "notification", "alert"}

// isNoReply reports whether addr's local part says replies go nowhere. It
// allocates nothing: it runs for every message.
func isNoReply(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	for _, p := range noReplyPrefixes {
		if hasPrefixSkipping(addr[:at], p) {
			return true
		}
	}
	return false
}

// hasPrefixSkipping reports whether s starts with prefix once '-', '_' and
// '.' are dropped from s (ASCII case-insensitive).
func hasPrefixSkipping(s, prefix string) bool {
	j := 0
	for i := 0; i < len(s) && j < len(prefix); i++ {
		c := s[i]
		if c == '-' || c == '_' || c == '.' {
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[j] {
			return false
		}
		j++
	}
	return j == len(prefix)
}

// containsFold reports whether s contains the lowercase ASCII word w,
// ignoring ASCII case, without allocating.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		j := 0
		for j < len(w) {
			c := s[i+j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != w[j] {
				break
			}
			j++
		}
		if j == len(w) {
			return true
		}
	}
	return false
}
