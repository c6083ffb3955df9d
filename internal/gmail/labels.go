package gmail

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	gm "google.golang.org/api/gmail/v1"

	"github.com/inboxq/inboxq/internal/inbox"
)

// systemLabelNames are Gmail's names for its system labels as its own UI
// shows them; labels.list returns their ids as names.
var systemLabelNames = map[string]string{
	"INBOX": "Inbox", "SPAM": "Spam", "TRASH": "Trash", "UNREAD": "Unread", "STARRED": "Starred",
	"IMPORTANT": "Important", "SENT": "Sent", "DRAFT": "Drafts", "CHAT": "Chats",
	"CATEGORY_PERSONAL": "Primary", "CATEGORY_SOCIAL": "Social", "CATEGORY_PROMOTIONS": "Promotions",
	"CATEGORY_UPDATES": "Updates", "CATEGORY_FORUMS": "Forums",
}

// Labels lists the mailbox's labels (1 unit).
func (c *Client) Labels(ctx context.Context) ([]*gm.Label, error) {
	var list *gm.ListLabelsResponse
	if err := c.call(ctx, 1, func() (err error) {
		list, err = c.svc.Users.Labels.List("me").Context(ctx).Do()
		return err
	}); err != nil {
		return nil, err
	}
	return list.Labels, nil
}

// Labels lists the labels of one of the owner's accounts, from Gmail, with
// how many stored messages carry each: system labels first (Inbox, the
// categories...), then the person's by name. An account that needs
// reconnecting is an inbox.ErrConflict.
func (a Accounts) Labels(ctx context.Context, owner, id int64) ([]inbox.Label, error) {
	acct, err := a.P.store.AccountGet(ctx, id, &owner)
	if err != nil {
		return nil, err
	}
	c, err := a.P.Client(ctx, acct)
	if err != nil {
		return nil, fmt.Errorf("%s needs reconnecting before its labels can be read: %w", acct.Email, inbox.ErrConflict)
	}
	gls, err := c.Labels(ctx)
	if err != nil {
		// Gmail's answer, not the request's fault: try again later.
		return nil, fmt.Errorf("listing the labels of %s: Gmail did not answer (%v): %w", acct.Email, err, inbox.ErrUnavailable)
	}
	counts, err := a.P.store.ExportLabelCounts(ctx, owner)
	if err != nil {
		return nil, err
	}
	n := map[string]int64{}
	for _, lc := range counts {
		if lc.AccountID == acct.ID {
			n[lc.Label] = lc.Messages
		}
	}
	out := make([]inbox.Label, 0, len(gls))
	for _, gl := range gls {
		l := inbox.Label{ID: gl.Id, Name: gl.Name, System: gl.Type == "system", Messages: n[gl.Id]}
		if name, ok := systemLabelNames[gl.Id]; ok {
			l.Name, l.System = name, true
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(x, y inbox.Label) int {
		if x.System != y.System {
			if x.System {
				return -1
			}
			return 1
		}
		return cmp.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
	})
	return out, nil
}

// LabelTotal is how many messages carry a label (labels.get, 1 unit).
func (c *Client) LabelTotal(ctx context.Context, id string) (int64, error) {
	var l *gm.Label
	if err := c.call(ctx, 1, func() (err error) {
		l, err = c.svc.Users.Labels.Get("me", id).Context(ctx).Do()
		return err
	}); err != nil {
		return 0, err
	}
	return l.MessagesTotal, nil
}
