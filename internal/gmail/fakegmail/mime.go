package fakegmail

import (
	"bytes"
	"encoding/base64"
	"html"
	"io"
	"mime"
	"mime/quotedprintable"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Header is one message header, in the order it appears in the message.
type Header struct {
	// Name is the header name as written, e.g. "List-Unsubscribe".
	Name string `json:"name"`
	// Value is the unfolded, RFC 2047-decoded value.
	Value string `json:"value"`
}

// Attachment is a file attached to a message added with [Mailbox.AddMessage].
type Attachment struct {
	// Filename is the name shown in the part's Content-Disposition.
	Filename string
	// MimeType defaults to application/octet-stream.
	MimeType string
	// Data is the file content (sent base64-encoded).
	Data []byte
}

// content is a message before it is rendered to RFC 2822.
type content struct {
	// headers are the top-level headers; the renderer adds MIME-Version and
	// Content-Type.
	headers     []Header
	text, html  string
	attachments []Attachment
	boundary    string
}

// render writes the RFC 2822 form of c with CRLF line endings.
func (c *content) render() []byte {
	var b bytes.Buffer
	b.Grow(len(c.text) + len(c.html)*11/10 + 2048)
	for _, h := range c.headers {
		writeHeader(&b, h.Name, h.Value)
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	// Equal-length boundaries that differ in one character: neither is a
	// prefix of the other.
	inner, outer := "0000000000000a"+c.boundary, "0000000000000b"+c.boundary
	if len(c.attachments) == 0 {
		c.renderBody(&b, inner)
		return b.Bytes()
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=\"" + outer + "\"\r\n\r\n")
	b.WriteString("--" + outer + "\r\n")
	c.renderBody(&b, inner)
	for _, a := range c.attachments {
		b.WriteString("\r\n--" + outer + "\r\n")
		mt := a.MimeType
		if mt == "" {
			mt = "application/octet-stream"
		}
		b.WriteString("Content-Type: " + mt + "; name=\"" + a.Filename + "\"\r\n")
		b.WriteString("Content-Disposition: attachment; filename=\"" + a.Filename + "\"\r\n")
		b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
		writeBase64Lines(&b, a.Data)
	}
	b.WriteString("\r\n--" + outer + "--\r\n")
	return b.Bytes()
}

// renderBody writes the Content-Type header and the text/html alternative.
func (c *content) renderBody(b *bytes.Buffer, boundary string) {
	switch {
	case c.text != "" && c.html != "":
		b.WriteString("Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n")
		b.WriteString("--" + boundary + "\r\n")
		writeLeaf(b, "text/plain", c.text)
		b.WriteString("\r\n--" + boundary + "\r\n")
		writeLeaf(b, "text/html", c.html)
		b.WriteString("\r\n--" + boundary + "--\r\n")
	case c.html != "":
		writeLeaf(b, "text/html", c.html)
	default:
		writeLeaf(b, "text/plain", c.text)
	}
}

// writeLeaf writes a text part's headers and body, choosing 7bit when the
// text allows it and quoted-printable otherwise.
func writeLeaf(b *bytes.Buffer, mediaType, text string) {
	b.WriteString("Content-Type: " + mediaType + "; charset=\"UTF-8\"\r\n")
	if is7bit(text) {
		b.WriteString("\r\n")
		writeCRLF(b, text)
		return
	}
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(b)
	_, _ = io.WriteString(qp, strings.ReplaceAll(text, "\r\n", "\n"))
	_ = qp.Close()
}

func is7bit(s string) bool {
	line := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\n':
			line = 0
		case c >= 0x80 || c == 0:
			return false
		default:
			line++
			if line > 900 {
				return false
			}
		}
	}
	return true
}

// writeCRLF writes s converting lone LFs to CRLF.
func writeCRLF(b *bytes.Buffer, s string) {
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			b.WriteString(s)
			return
		}
		line := strings.TrimSuffix(s[:i], "\r")
		b.WriteString(line)
		b.WriteString("\r\n")
		s = s[i+1:]
	}
}

// writeHeader writes one header, RFC 2047-encoding non-ASCII values and
// folding long ones at spaces.
func writeHeader(b *bytes.Buffer, name, value string) {
	if !isASCII(value) {
		value = mime.QEncoding.Encode("UTF-8", value)
	}
	// CR and LF in a value would inject headers.
	value = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, value)
	b.WriteString(name)
	b.WriteString(": ")
	col := len(name) + 2
	for value != "" {
		if col+len(value) <= 78 {
			b.WriteString(value)
			break
		}
		cut := strings.LastIndexByte(value[:max(1, min(len(value), 78-col))], ' ')
		if cut <= 0 {
			cut = strings.IndexByte(value, ' ')
			if cut <= 0 {
				b.WriteString(value)
				break
			}
		}
		b.WriteString(value[:cut])
		b.WriteString("\r\n")
		value = value[cut:] // keeps the leading space as folding whitespace
		col = 0
	}
	b.WriteString("\r\n")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func writeBase64Lines(b *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding
	line := make([]byte, 76)
	for len(data) > 0 {
		n := min(len(data), 57)
		enc.Encode(line, data[:n])
		b.Write(line[:enc.EncodedLen(n)])
		b.WriteString("\r\n")
		data = data[n:]
	}
}

// part is one parsed MIME entity.
type part struct {
	headers  []Header
	mimeType string
	filename string
	body     []byte // decoded content of a leaf
	parts    []*part
}

// parseMessage parses an RFC 2822 message into its MIME tree. It is lenient:
// anything it cannot parse becomes a text/plain leaf.
func parseMessage(raw []byte) *part {
	return parseEntity(raw, 0)
}

func parseEntity(raw []byte, depth int) *part {
	headers, body := splitHeaders(raw)
	p := &part{headers: headers, mimeType: "text/plain"}
	params := map[string]string{}
	if ct := headerValue(headers, "Content-Type"); ct != "" {
		if mt, ps, err := mime.ParseMediaType(ct); err == nil {
			p.mimeType, params = mt, ps
		}
	}
	if cd := headerValue(headers, "Content-Disposition"); cd != "" {
		if _, ps, err := mime.ParseMediaType(cd); err == nil {
			p.filename = ps["filename"]
		}
	}
	if p.filename == "" && !strings.HasPrefix(p.mimeType, "text/") && !strings.HasPrefix(p.mimeType, "multipart/") {
		p.filename = params["name"]
	}
	if strings.HasPrefix(p.mimeType, "multipart/") && params["boundary"] != "" && depth < 20 {
		for _, child := range splitMultipart(body, params["boundary"]) {
			p.parts = append(p.parts, parseEntity(child, depth+1))
		}
		return p
	}
	p.body = decodeTransfer(body, headerValue(headers, "Content-Transfer-Encoding"))
	return p
}

// splitHeaders splits a header block from the body and unfolds the headers.
func splitHeaders(raw []byte) ([]Header, []byte) {
	var headers []Header
	dec := mime.WordDecoder{}
	rest := raw
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		var line []byte
		if i < 0 {
			line, rest = rest, nil
		} else {
			line, rest = rest[:i], rest[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(headers) > 0 {
			headers[len(headers)-1].Value += string(line)
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		headers = append(headers, Header{Name: string(name), Value: string(bytes.TrimLeft(value, " \t"))})
	}
	for i := range headers {
		if strings.Contains(headers[i].Value, "=?") {
			if v, err := dec.DecodeHeader(headers[i].Value); err == nil {
				headers[i].Value = v
			}
		}
	}
	return headers, rest
}

// splitMultipart returns the raw entities between boundary delimiters.
func splitMultipart(body []byte, boundary string) [][]byte {
	delim := []byte("\n--" + boundary)
	data := append([]byte("\n"), body...)
	var out [][]byte
	i := bytes.Index(data, delim)
	for i >= 0 {
		rest := data[i+len(delim):]
		if bytes.HasPrefix(rest, []byte("--")) {
			break
		}
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			break
		}
		rest = rest[nl+1:]
		next := bytes.Index(rest, delim)
		if next < 0 {
			out = append(out, rest)
			break
		}
		out = append(out, bytes.TrimSuffix(rest[:next], []byte("\r")))
		data = rest[next:]
		i = 0
	}
	return out
}

func decodeTransfer(body []byte, cte string) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		clean := bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, body)
		out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
		n, err := base64.StdEncoding.Decode(out, clean)
		if err != nil {
			return body
		}
		return out[:n]
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		if err != nil {
			return body
		}
		return out
	}
	return body
}

// headerValue returns the first value of a header, case-insensitively.
func headerValue(headers []Header, name string) string {
	for _, h := range headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// text returns the first text/plain leaf, else the first text/html leaf with
// its tags stripped.
func (p *part) text() string {
	if s, ok := p.find("text/plain"); ok {
		return s
	}
	if s, ok := p.find("text/html"); ok {
		return stripTags(s)
	}
	return ""
}

func (p *part) find(mediaType string) (string, bool) {
	if len(p.parts) == 0 {
		if p.mimeType == mediaType && p.filename == "" {
			return string(p.body), true
		}
		return "", false
	}
	for _, c := range p.parts {
		if s, ok := c.find(mediaType); ok {
			return s, true
		}
	}
	return "", false
}

func (p *part) hasAttachment() bool {
	if len(p.parts) == 0 {
		return p.filename != ""
	}
	for _, c := range p.parts {
		if c.hasAttachment() {
			return true
		}
	}
	return false
}

// partByID finds a part by its Gmail partId ("", "0", "1.0", ...).
func (p *part) partByID(id string) *part {
	if id == "" {
		return p
	}
	cur := p
	for _, s := range strings.Split(id, ".") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n >= len(cur.parts) {
			return nil
		}
		cur = cur.parts[n]
	}
	return cur
}

// stripTags drops HTML tags, style/script blocks and decodes entities.
func stripTags(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		lower := strings.ToLower(s[:min(len(s), 8)])
		for _, block := range []string{"style", "script"} {
			if strings.HasPrefix(lower, "<"+block) {
				if end := strings.Index(strings.ToLower(s), "</"+block+">"); end >= 0 {
					s = s[end:]
				}
			}
		}
		j := strings.IndexByte(s, '>')
		if j < 0 {
			break
		}
		b.WriteByte(' ')
		s = s[j+1:]
	}
	return html.UnescapeString(b.String())
}

// makeSnippet builds Gmail's snippet: the start of the text with whitespace
// collapsed, HTML-escaped.
func makeSnippet(text string) string {
	const limit = 200
	var b strings.Builder
	for _, f := range strings.Fields(text) {
		if b.Len() > 0 {
			if b.Len()+1 >= limit {
				break
			}
			b.WriteByte(' ')
		}
		if b.Len()+len(f) > limit {
			cut := limit - b.Len()
			for cut > 0 && !utf8.RuneStart(f[cut]) {
				cut--
			}
			b.WriteString(f[:cut])
			break
		}
		b.WriteString(f)
	}
	return html.EscapeString(b.String())
}

// summarize extracts what search needs from a parsed message.
func summarize(p *part) summary {
	to := headerValue(p.headers, "To")
	if cc := headerValue(p.headers, "Cc"); cc != "" {
		to += ", " + cc
	}
	return summary{
		from:          headerValue(p.headers, "From"),
		to:            to,
		subject:       headerValue(p.headers, "Subject"),
		snippet:       makeSnippet(p.text()),
		listID:        headerValue(p.headers, "List-Id"),
		hasAttachment: p.hasAttachment(),
	}
}
