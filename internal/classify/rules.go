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
		case "CATEGORY_PERSONAL":
			c = Primary
		default:
			continue
		}
		return Decision{Category: c, Spam: c == Spam, Confidence: labelConfidence, Source: SourceRule, Rule: "gmail-label:" + strings.ToUpper(l)}, true
	}
	return Decision{}, false
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
		subject := strings.ToLower(msg.Subject)
		for _, w := range promoWords {
			if strings.Contains(subject, w) {
				return Promotions, "bulk-promotion", true
			}
		}
		return Newsletters, "bulk-sender", true
	}
	if isNoReply(msg.From) {
		return Updates, "no-reply-sender", true
	}
	return "", "", false
}

// isNoReply reports whether addr's local part says replies go nowhere.
func isNoReply(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	local := strings.NewReplacer("-", "", "_", "", ".", "").Replace(addr[:at])
	for _, p := range []string{"noreply", "donotreply", "notification", "alert"} {
		if strings.HasPrefix(local, p) {
			return true
		}
	}
	return false
}
