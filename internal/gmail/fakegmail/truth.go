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
		if m.gen.fromOwner {
			g.Sender = mb.gen.owner
		}
		out = append(out, g)
	}
	return out
}
