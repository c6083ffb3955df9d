package fakegmail

import (
	"time"
)

// Generated is a generated message as a sync stores it, with the
// correspondent that generated it: the truth clustering is measured
// against (internal/cluster).
type Generated struct {
	ID      string
	From    string
	Subject string
	Date    time.Time
	Unread  bool
	// Sender is the generating correspondent's address (the mailbox
	// owner's for the owner's own replies); Kind is person, newsletter,
	// notice, social, forum or spam.
	Sender string
	Kind   string
	// Template is the index of the subject template in the sender kind's
	// list: with Sender, the kind of notification a service sent.
	Template int
}

var kindNames = [numKinds]string{"person", "newsletter", "notice", "social", "forum", "spam"}

// Generated returns the mailbox's generated messages, newest first (those
// added with AddMessage are left out).
func (mb *Mailbox) Generated() []Generated {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	if mb.gen == nil {
		return nil
	}
	out := make([]Generated, 0, len(mb.order))
	for _, m := range mb.order {
		if m.stored != nil {
			continue
		}
		s := &mb.gen.senders[m.gen.sender]
		sum := mb.gen.summary(m, false)
		g := Generated{ID: formatID(m.id), From: sum.from, Subject: sum.subject, Date: time.UnixMilli(m.date).UTC(),
			Unread: m.labels.has(lblUnread), Sender: s.addr, Kind: kindNames[s.kind]}
		g.Template = mb.gen.template(m, s)
		if m.gen.fromOwner {
			g.Sender = mb.gen.owner
		}
		out = append(out, g)
	}
	return out
}

// template returns the index of m's subject template: subject's first draw.
func (g *generator) template(m *message, s *sender) int {
	var n int
	switch s.kind {
	case kindPerson:
		n = len(g.v.personSubjects)
	case kindNewsletter:
		n = len(g.v.newsSubjects)
	case kindNotice:
		n = len(g.v.noticeSubjects)
	case kindSocial:
		n = len(g.v.socialSubjects)
	case kindForum:
		n = len(g.v.forumSubjects)
	default:
		n = len(g.v.spamSubjects)
	}
	return g.topicRand(m).IntN(n)
}
