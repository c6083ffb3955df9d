package store

import "context"

// DemoGmailSet records where the demo's fake Gmail listens.
func (s *Store) DemoGmailSet(ctx context.Context, url string) error {
	return translate(s.q.DemoGmailSet(ctx, url), "recording the demo gmail")
}

// DemoGmailGet returns where the demo's fake Gmail listens (inbox.ErrNotFound
// when no serve has started one).
func (s *Store) DemoGmailGet(ctx context.Context) (string, error) {
	url, err := s.q.DemoGmailGet(ctx)
	return url, translate(err, "finding the demo gmail")
}
