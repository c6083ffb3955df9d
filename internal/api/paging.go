package api

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/messages"
	"github.com/inboxq/inboxq/internal/tasks"
)

// Every list pages the same way: limit and an opaque cursor in, next_cursor
// out (absent on the last page), and a Link header with rel="next". The
// cursor is tasks.EncodeCursor's, whatever the list.

// paged reports whether op is a paged list: it takes a cursor.
func paged(op *huma.Operation) bool {
	return slices.ContainsFunc(op.Parameters, func(p *huma.Param) bool { return p.In == "query" && p.Name == "cursor" })
}

// badCursor is the 422 for a cursor the API did not make.
func badCursor(c string) error {
	return huma.Error422UnprocessableEntity("invalid cursor",
		&huma.ErrorDetail{Location: "query.cursor", Message: "not a cursor this API returned; pass next_cursor unchanged", Value: c})
}

// validCursor reports whether c is a cursor some list of the API made: a
// task-style id cursor, or the messages or senders list's keyset cursor.
func validCursor(c string) bool {
	if _, err := tasks.DecodeCursor(c); err == nil {
		return true
	}
	if _, _, err := decodeSenderCursor(c); err == nil {
		return true
	}
	_, err := messages.DecodeCursor(c)
	return err == nil
}

// paging is Huma middleware for paged lists: it refuses a bad cursor before
// the operation runs, and adds the Link header from the page's next_cursor.
func paging(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		if !paged(hctx.Operation()) {
			next(hctx)
			return
		}
		if cur := hctx.Query("cursor"); cur != "" {
			if !validCursor(cur) {
				writeStatusErr(api, hctx, badCursor(cur))
				return
			}
		}
		c := capture(hctx)
		next(c)
		if c.status == http.StatusOK {
			var page struct {
				NextCursor string `json:"next_cursor"`
			}
			if json.Unmarshal(c.body.Bytes(), &page) == nil && page.NextCursor != "" {
				u := hctx.URL()
				q := u.Query()
				q.Set("cursor", page.NextCursor)
				hctx.SetHeader("Link", "<"+u.Path+"?"+q.Encode()+`>; rel="next"`)
			}
		}
		c.flush()
	}
}

// pageOf returns the page of items (sorted by id, descending when desc)
// that follows the item with id after (0: the first page), and the cursor
// of the page after it ("" on the last). For lists short enough to read
// whole: a user's schedules, accounts and archives.
func pageOf[T any](items []T, id func(T) int64, desc bool, cursor string, limit int) ([]T, string, error) {
	start := 0
	if cursor != "" {
		after, err := tasks.DecodeCursor(cursor)
		if err != nil {
			return nil, "", badCursor(cursor)
		}
		start = len(items)
		for i, it := range items {
			if (!desc && id(it) > after) || (desc && id(it) < after) {
				start = i
				break
			}
		}
	}
	items = items[start:]
	if limit <= 0 || len(items) <= limit {
		return items, "", nil
	}
	return items[:limit], tasks.EncodeCursor(id(items[limit-1])), nil
}
