package api

import (
	"bytes"
	"io"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// captured is a huma.Context that holds the response back (its status and
// body) so middleware can look at it before it is sent: idempotency keeps
// it, conditional requests hash it, paging reads its next_cursor. Headers
// pass through at once (nothing is sent before the status) and are also
// recorded, so idempotency can keep the ones the operation set.
type captured struct {
	humaContext
	status  int
	header  http.Header
	body    bytes.Buffer
	reqBody io.Reader // when set, the request body the operation reads
}

func capture(ctx huma.Context) *captured { return &captured{humaContext: ctx, header: http.Header{}} }

func (c *captured) SetStatus(code int)    { c.status = code }
func (c *captured) Status() int           { return c.status }
func (c *captured) BodyWriter() io.Writer { return &c.body }

func (c *captured) SetHeader(name, value string) {
	c.header.Set(name, value)
	c.humaContext.SetHeader(name, value)
}

func (c *captured) AppendHeader(name, value string) {
	c.header.Add(name, value)
	c.humaContext.AppendHeader(name, value)
}

func (c *captured) BodyReader() io.Reader {
	if c.reqBody != nil {
		return c.reqBody
	}
	return c.humaContext.BodyReader()
}

// humaContext lets a struct embed huma.Context, whose Context method
// would otherwise clash with the field's name.
type humaContext = huma.Context

// flush sends the held response on.
func (c *captured) flush() {
	if c.status == 0 {
		return
	}
	c.humaContext.SetStatus(c.status)
	if c.body.Len() > 0 {
		_, _ = c.humaContext.BodyWriter().Write(c.body.Bytes())
	}
}
