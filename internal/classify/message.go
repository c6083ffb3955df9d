package classify

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Message is what the classifier reads of an email. A stored message fills it
// from its columns (snippet as Body); ParseMessage fills it from raw RFC 822.
type Message struct {
	Subject string
	// From is the sender's address; FromName the display name.
	From     string
	FromName string
	// Body is the message's text (plain, or HTML with the tags removed), or
	// Gmail's snippet.
	Body string
	// Headers that carry evidence; empty when absent.
	ListUnsubscribe string
	ListID          string
	ListPost        string
	Precedence      string
	ContentType     string // media type of the top-level part, e.g. "multipart/alternative"
	Mailer          string // X-Mailer or User-Agent
	// Labels are Gmail label ids (SPAM, CATEGORY_SOCIAL, ...), if known.
	Labels []string
}

// MaxBodyBytes bounds the text kept of a raw message's body: the start of a
// message says what it is, and the bound keeps a huge attachment-laden
// message as cheap as any other.
const MaxBodyBytes = 16 << 10

// ErrNotMessage means the input is not an RFC 822 message.
var ErrNotMessage = errors.New("not an RFC 822 message")

// ParseMessage reads a raw RFC 822 message. A leading mbox "From " line is
// skipped. Bodies in quoted-printable or base64 are decoded; of a multipart
// message the text parts are kept, HTML with its tags removed.
func ParseMessage(raw []byte) (*Message, error) {
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			raw = raw[i+1:]
		} else {
			raw = nil
		}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrNotMessage)
	}
	m, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotMessage, err)
	}
	h := m.Header
	if len(h) == 0 || (h.Get("From") == "" && h.Get("Subject") == "" && h.Get("Date") == "") {
		return nil, fmt.Errorf("%w: no From, Subject or Date header", ErrNotMessage)
	}
	dec := new(mime.WordDecoder)
	msg := &Message{
		Subject:         decodeHeader(dec, h.Get("Subject")),
		ListUnsubscribe: h.Get("List-Unsubscribe"),
		ListID:          h.Get("List-Id"),
		ListPost:        h.Get("List-Post"),
		Precedence:      strings.ToLower(strings.TrimSpace(h.Get("Precedence"))),
		Mailer:          h.Get("X-Mailer"),
	}
	if msg.Mailer == "" {
		msg.Mailer = h.Get("User-Agent")
	}
	if from := h.Get("From"); from != "" {
		if a, err := mail.ParseAddress(from); err == nil {
			msg.From, msg.FromName = strings.ToLower(a.Address), a.Name
		} else {
			// Spam's From lines are often malformed; keep the raw text as evidence.
			msg.From = strings.ToLower(strings.TrimSpace(from))
		}
	}
	if l := h.Get("X-Gmail-Labels"); l != "" {
		for _, s := range strings.Split(l, ",") {
			msg.Labels = append(msg.Labels, strings.TrimSpace(s))
		}
	}
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mediaType = "text/plain"
	}
	msg.ContentType = mediaType
	var body strings.Builder
	readPart(&body, m.Body, mediaType, params, h.Get("Content-Transfer-Encoding"), 0)
	msg.Body = body.String()
	return msg, nil
}

func decodeHeader(dec *mime.WordDecoder, s string) string {
	if d, err := dec.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// readPart appends the text of one MIME part to b, recursing into multiparts.
// Malformed parts are kept as far as they read: a classifier must still judge
// broken mail, which is most often spam.
func readPart(b *strings.Builder, r io.Reader, mediaType string, params map[string]string, cte string, depth int) {
	if b.Len() >= MaxBodyBytes || depth > 5 {
		return
	}
	if strings.HasPrefix(mediaType, "multipart/") && params["boundary"] != "" {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			mt, ps, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
			if err != nil {
				mt = "text/plain"
			}
			readPart(b, p, mt, ps, p.Header.Get("Content-Transfer-Encoding"), depth+1)
		}
	}
	if !strings.HasPrefix(mediaType, "text/") {
		return
	}
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r) // skips line breaks itself
	}
	buf := make([]byte, MaxBodyBytes-b.Len())
	n, _ := io.ReadFull(r, buf)
	text := buf[:n]
	if mediaType == "text/html" {
		text = stripTags(text)
	}
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	b.Write(text)
}

// stripTags removes HTML tags, keeping the text between them.
func stripTags(in []byte) []byte {
	out := in[:0]
	inTag := false
	for _, c := range in {
		switch {
		case c == '<':
			inTag = true
		case c == '>' && inTag:
			inTag = false
			out = append(out, ' ')
		case !inTag:
			out = append(out, c)
		}
	}
	return out
}

// SplitFrom splits a From header as Gmail returns it ("Name <a@b.c>",
// "a@b.c" or "\"Last, First\" <a@b.c>") into the display name and the
// lower-case address, without net/mail's allocations and strictness: stored
// headers come from every mailer there is.
func SplitFrom(h string) (name, addr string) {
	h = strings.TrimSpace(h)
	lt := strings.LastIndexByte(h, '<')
	if lt < 0 {
		return "", strings.ToLower(h)
	}
	addr = h[lt+1:]
	if gt := strings.IndexByte(addr, '>'); gt >= 0 {
		addr = addr[:gt]
	}
	name = strings.Trim(strings.TrimSpace(h[:lt]), `"`)
	return name, strings.ToLower(strings.TrimSpace(addr))
}
