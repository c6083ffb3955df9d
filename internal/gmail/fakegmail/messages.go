package fakegmail

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Gmail's limits on list and batch calls.
const (
	maxPageSize = 500
	defaultPage = 100
	maxBatchIDs = 1000
	// listScanBudget bounds the content derivations spent on the
	// resultSizeEstimate after a page is full.
	listScanBudget = 2000
	watchExpiresIn = 7 * 24 * time.Hour
)

// NewMessage describes a message added server-side with [Mailbox.AddMessage],
// e.g. new mail arriving during an incremental-sync test.
type NewMessage struct {
	// ThreadID puts the message in an existing thread; empty starts a new
	// thread whose id is the message id.
	ThreadID string
	// LabelIDs defaults to INBOX, UNREAD and CATEGORY_PERSONAL when nil.
	LabelIDs []string
	// Date is the internalDate; zero means the mailbox clock's now (or the
	// Date header of Raw).
	Date time.Time

	// From, To and Subject are the main headers; To defaults to the
	// mailbox address.
	From, To, Subject string
	// Headers are extra headers such as List-Unsubscribe.
	Headers []Header
	// Text and HTML are the bodies; with both the message is
	// multipart/alternative.
	Text, HTML string
	// Attachments are added as multipart/mixed parts.
	Attachments []Attachment

	// Raw, when set, is a complete RFC 2822 message used verbatim; the
	// content fields above are then ignored.
	Raw []byte
}

// AddMessage inserts a message server-side and records a messageAdded
// history entry. It returns the new message id.
func (mb *Mailbox) AddMessage(in NewMessage) (string, error) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	date := in.Date
	raw := in.Raw
	if raw != nil {
		raw = normalizeCRLF(raw)
		if date.IsZero() {
			hs, _ := splitHeaders(raw)
			if d, err := mail.ParseDate(headerValue(hs, "Date")); err == nil {
				date = d
			}
		}
	}
	if date.IsZero() {
		date = mb.clock()
	}
	id := mb.newIDLocked(date.UnixMilli())
	threadID := id
	if in.ThreadID != "" {
		t, ok := parseID(in.ThreadID)
		if !ok {
			return "", fmt.Errorf("add message: %w", errInvalid("Invalid thread id: %s", in.ThreadID))
		}
		threadID = t
	}
	labelIDs := in.LabelIDs
	if labelIDs == nil {
		labelIDs = []string{"INBOX", "UNREAD", "CATEGORY_PERSONAL"}
	}
	var labels labelSet
	for _, l := range labelIDs {
		idx, ok := mb.resolveLabel(l)
		if !ok {
			return "", fmt.Errorf("add message: %w", errInvalidLabel(l))
		}
		labels = labels.with(idx)
	}
	if raw == nil {
		c := &content{boundary: formatID(id), text: in.Text, html: in.HTML, attachments: in.Attachments}
		c.headers = append(c.headers,
			Header{"Date", date.Format(time.RFC1123Z)},
			Header{"Message-ID", "<" + formatID(id) + "@mail.fakegmail.test>"},
			Header{"Subject", in.Subject},
			Header{"From", in.From},
			Header{"To", cmpOr(in.To, mb.address)},
		)
		c.headers = append(c.headers, in.Headers...)
		raw = c.render()
	}
	m := &message{
		id:       id,
		threadID: threadID,
		date:     date.UnixMilli(),
		labels:   labels,
		wasInbox: labels.has(lblInbox),
		stored:   &storedContent{raw: raw, summary: summarize(parseMessage(raw))},
	}
	m.size.Store(int64(len(raw)))
	mb.insertLocked(m)
	m.historyID = mb.appendHistory(historyRecord{kind: histAdded, msgID: id, threadID: threadID, labels: labels})
	return formatID(id), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// normalizeCRLF turns lone LFs into CRLF.
func normalizeCRLF(raw []byte) []byte {
	if !bytes.Contains(raw, []byte("\n")) {
		return raw
	}
	var b bytes.Buffer
	writeCRLF(&b, string(raw))
	return b.Bytes()
}

// raw returns the RFC 2822 bytes of m; generated messages are rendered.
func (mb *Mailbox) raw(m *message) []byte {
	if m.stored != nil {
		return m.stored.raw
	}
	b := mb.gen.content(m).render()
	m.size.Store(int64(len(b)))
	return b
}

// sizeOf returns len(raw), rendering once for generated messages.
func (mb *Mailbox) sizeOf(m *message) int64 {
	if n := m.size.Load(); n > 0 {
		return n
	}
	return int64(len(mb.raw(m)))
}

// summaryOf returns what search needs from m; generated messages derive the
// snippet only when asked because it needs the body.
func (mb *Mailbox) summaryOf(m *message, withSnippet bool) summary {
	if m.stored != nil {
		return m.stored.summary
	}
	return mb.gen.summary(m, withSnippet)
}

// hasAttachment reports whether m has a part with a filename.
func (mb *Mailbox) hasAttachment(m *message) bool {
	if m.stored != nil {
		return m.stored.summary.hasAttachment
	}
	return m.gen.attachment
}

// headerOf returns the first value of a header of m.
func (mb *Mailbox) headerOf(m *message, name string) string {
	if m.stored != nil {
		hs, _ := splitHeaders(m.stored.raw)
		return headerValue(hs, name)
	}
	return headerValue(mb.gen.content(m).headers, name)
}

type wireMessage struct {
	ID           string    `json:"id"`
	ThreadID     string    `json:"threadId"`
	LabelIDs     []string  `json:"labelIds,omitempty"`
	Snippet      string    `json:"snippet,omitempty"`
	Payload      *wirePart `json:"payload,omitempty"`
	SizeEstimate int64     `json:"sizeEstimate,omitempty"`
	HistoryID    string    `json:"historyId,omitempty"`
	InternalDate string    `json:"internalDate,omitempty"`
	Raw          string    `json:"raw,omitempty"`
}

type wirePart struct {
	PartID   string      `json:"partId"`
	MimeType string      `json:"mimeType"`
	Filename string      `json:"filename"`
	Headers  []Header    `json:"headers"`
	Body     *wireBody   `json:"body,omitempty"`
	Parts    []*wirePart `json:"parts,omitempty"`
}

type wireBody struct {
	AttachmentID string `json:"attachmentId,omitempty"`
	Size         int    `json:"size"`
	Data         string `json:"data,omitempty"`
}

// wireTree renders a parsed part as Gmail's MessagePart.
func wireTree(p *part, partID string, msgID uint64) *wirePart {
	w := &wirePart{PartID: partID, MimeType: p.mimeType, Filename: p.filename, Headers: p.headers}
	if w.Headers == nil {
		w.Headers = []Header{}
	}
	if len(p.parts) > 0 {
		w.Body = &wireBody{Size: 0}
		for i, c := range p.parts {
			id := strconv.Itoa(i)
			if partID != "" {
				id = partID + "." + id
			}
			w.Parts = append(w.Parts, wireTree(c, id, msgID))
		}
		return w
	}
	if p.filename != "" {
		w.Body = &wireBody{AttachmentID: attachmentID(msgID, partID), Size: len(p.body)}
		return w
	}
	w.Body = &wireBody{Size: len(p.body), Data: base64.URLEncoding.EncodeToString(p.body)}
	return w
}

// attachmentID encodes the part id; Gmail's ids are opaque and long.
func attachmentID(msgID uint64, partID string) string {
	return "ANGjdJ_" + base64.RawURLEncoding.EncodeToString([]byte(formatID(msgID)+"/"+partID))
}

func parseAttachmentID(aid string, msgID uint64) (string, bool) {
	rest, ok := strings.CutPrefix(aid, "ANGjdJ_")
	if !ok {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return "", false
	}
	id, partID, ok := strings.Cut(string(b), "/")
	if !ok || id != formatID(msgID) {
		return "", false
	}
	return partID, true
}

func handleProfile(c *call) (any, *apiError) {
	mb := c.mb
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	return map[string]any{
		"emailAddress":  mb.address,
		"messagesTotal": len(mb.msgs),
		"threadsTotal":  mb.threadCountLocked(),
		"historyId":     strconv.FormatUint(mb.historyID, 10),
	}, nil
}

// parseMaxResults applies Gmail's default (100) and limit (500).
func parseMaxResults(s string) (int, *apiError) {
	if s == "" {
		return defaultPage, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errInvalid("Invalid value for maxResults: %s", s)
	}
	if n > maxPageSize {
		return 0, errInvalid("Invalid maxResults: %d is greater than the maximum allowed value of %d", n, maxPageSize)
	}
	if n == 0 {
		return defaultPage, nil
	}
	return n, nil
}

type wireMessageRefList struct {
	Messages           []wireHistoryMessage `json:"messages,omitempty"`
	NextPageToken      string               `json:"nextPageToken,omitempty"`
	ResultSizeEstimate int                  `json:"resultSizeEstimate"`
}

// handleMessagesList serves users.messages.list: newest first, filtered by
// labelIds (all required), q and includeSpamTrash. resultSizeEstimate counts
// the matches from the page on: exact for label, date and flag searches,
// extrapolated for content searches over large mailboxes (Gmail's is only an
// estimate too).
func handleMessagesList(c *call) (any, *apiError) {
	q := c.query.Get("q")
	if q != "" && c.scopes.metadataOnly() {
		return nil, errForbidden("Metadata scope does not support 'q' parameter")
	}
	max, err := parseMaxResults(c.query.Get("maxResults"))
	if err != nil {
		return nil, err
	}
	includeSpamTrash := c.query.Get("includeSpamTrash") == "true"
	fingerprint := listFingerprint(q, c.query["labelIds"], includeSpamTrash)
	var after *pageKey
	if tok := c.query.Get("pageToken"); tok != "" {
		k, ok := decodePageToken(tok, fingerprint)
		if !ok {
			return nil, errInvalid("Invalid pageToken")
		}
		after = &k
	}

	mb := c.mb
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	var need []uint16
	for _, id := range c.query["labelIds"] {
		l, ok := mb.resolveLabel(id)
		if !ok {
			return wireMessageRefList{}, nil // an unknown label matches nothing
		}
		need = append(need, l)
		if l == lblSpam || l == lblTrash {
			includeSpamTrash = true
		}
	}
	var parsed *query
	if strings.TrimSpace(q) != "" {
		parsed = parseQuery(q, mb, c.now)
		includeSpamTrash = includeSpamTrash || parsed.showsSpamTrash
	}

	start := 0
	if after != nil {
		start, _ = slices.BinarySearchFunc(mb.order, *after, func(m *message, k pageKey) int {
			if compareKey(m.date, m.id, k.date, k.id) <= 0 {
				return -1
			}
			return 1
		})
	}
	out := wireMessageRefList{}
	var last pageKey
	v := view{mb: mb}
	total, fullAt, derivedAtFull := 0, 0, 0
	for i := start; i < len(mb.order); i++ {
		if out.NextPageToken != "" && v.derived-derivedAtFull > listScanBudget {
			// Content searches are costly on big mailboxes: extrapolate
			// the rest of the estimate from what was seen after the page.
			extra := total - len(out.Messages)
			total += int(float64(len(mb.order)-i) * float64(extra) / float64(i-fullAt))
			break
		}
		m := mb.order[i]
		if !includeSpamTrash && (m.labels.has(lblSpam) || m.labels.has(lblTrash)) {
			continue
		}
		if !hasAll(m.labels, need) {
			continue
		}
		if parsed != nil {
			v.reset(m)
			if !parsed.match(&v) {
				continue
			}
		}
		total++
		if len(out.Messages) < max {
			out.Messages = append(out.Messages, wireHistoryMessage{ID: formatID(m.id), ThreadID: formatID(m.threadID)})
			last = pageKey{date: m.date, id: m.id}
			continue
		}
		if out.NextPageToken == "" {
			out.NextPageToken = encodePageToken(last, fingerprint)
			fullAt, derivedAtFull = i, v.derived
		}
	}
	out.ResultSizeEstimate = total
	return out, nil
}

func hasAll(s labelSet, need []uint16) bool {
	for _, l := range need {
		if !s.has(l) {
			return false
		}
	}
	return true
}

// pageKey is the position after which the next page starts.
type pageKey struct {
	date int64
	id   uint64
}

func listFingerprint(q string, labelIDs []string, includeSpamTrash bool) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(q))
	for _, l := range labelIDs {
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(l))
	}
	if includeSpamTrash {
		_, _ = h.Write([]byte{1})
	}
	return h.Sum32()
}

func encodePageToken(k pageKey, fingerprint uint32) string {
	b := make([]byte, 20)
	binary.BigEndian.PutUint64(b[0:], uint64(k.date))
	binary.BigEndian.PutUint64(b[8:], k.id)
	binary.BigEndian.PutUint32(b[16:], fingerprint)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(tok string, fingerprint uint32) (pageKey, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 20 || binary.BigEndian.Uint32(b[16:]) != fingerprint {
		return pageKey{}, false
	}
	return pageKey{date: int64(binary.BigEndian.Uint64(b[0:])), id: binary.BigEndian.Uint64(b[8:])}, true
}

// handleMessagesGet serves users.messages.get in all four formats.
func handleMessagesGet(c *call) (any, *apiError) {
	format := strings.ToLower(c.query.Get("format"))
	switch format {
	case "":
		format = "full"
	case "minimal", "metadata", "full", "raw":
	default:
		return nil, errInvalid("Invalid value for format: %s", c.query.Get("format"))
	}
	if c.scopes.metadataOnly() && (format == "full" || format == "raw") {
		return nil, errForbidden("Metadata scope doesn't allow format " + strings.ToUpper(format))
	}
	mb := c.mb
	mb.mu.RLock()
	m, err := mb.lookup(c.param("id"))
	if err != nil {
		mb.mu.RUnlock()
		return nil, err
	}
	out := wireMessage{
		ID:           formatID(m.id),
		ThreadID:     formatID(m.threadID),
		LabelIDs:     mb.labelIDs(m.labels),
		HistoryID:    strconv.FormatUint(m.historyID, 10),
		InternalDate: strconv.FormatInt(m.date, 10),
	}
	mb.mu.RUnlock()

	// Content is immutable: render outside the lock.
	if format == "minimal" {
		out.Snippet = mb.summaryOf(m, true).snippet
		out.SizeEstimate = mb.sizeOf(m)
		return out, nil
	}
	raw := mb.raw(m)
	out.SizeEstimate = int64(len(raw))
	if format == "raw" {
		out.Snippet = mb.summaryOf(m, true).snippet
		out.Raw = base64.URLEncoding.EncodeToString(raw)
		return out, nil
	}
	tree := parseMessage(raw)
	out.Snippet = makeSnippet(tree.text())
	if format == "metadata" {
		headers := tree.headers
		if want := c.query["metadataHeaders"]; len(want) > 0 {
			headers = nil
			for _, h := range tree.headers {
				if slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, h.Name) }) {
					headers = append(headers, h)
				}
			}
		}
		if headers == nil {
			headers = []Header{}
		}
		out.Payload = &wirePart{MimeType: tree.mimeType, Headers: headers}
		return out, nil
	}
	out.Payload = wireTree(tree, "", m.id)
	return out, nil
}

func handleAttachmentGet(c *call) (any, *apiError) {
	if c.scopes.metadataOnly() {
		return nil, errForbidden("Metadata scope doesn't allow format FULL")
	}
	mb := c.mb
	mb.mu.RLock()
	m, err := mb.lookup(c.param("id"))
	mb.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	partID, ok := parseAttachmentID(c.param("aid"), m.id)
	if !ok {
		return nil, errInvalid("Invalid attachment token")
	}
	p := parseMessage(mb.raw(m)).partByID(partID)
	if p == nil || len(p.parts) > 0 {
		return nil, errNotFound()
	}
	return wireBody{AttachmentID: c.param("aid"), Size: len(p.body), Data: base64.URLEncoding.EncodeToString(p.body)}, nil
}

type modifyRequest struct {
	IDs            []string `json:"ids"`
	AddLabelIDs    []string `json:"addLabelIds"`
	RemoveLabelIDs []string `json:"removeLabelIds"`
}

// minimalRef is what modify, trash and untrash return.
func (mb *Mailbox) minimalRef(m *message) wireHistoryMessage {
	return wireHistoryMessage{ID: formatID(m.id), ThreadID: formatID(m.threadID), LabelIDs: mb.labelIDs(m.labels)}
}

func handleMessagesModify(c *call) (any, *apiError) {
	var req modifyRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	mb := c.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	m, err := mb.lookup(c.param("id"))
	if err != nil {
		return nil, err
	}
	add, remove, err := mb.resolveChange(req.AddLabelIDs, req.RemoveLabelIDs)
	if err != nil {
		return nil, err
	}
	mb.changeLabels(m, add, remove)
	return mb.minimalRef(m), nil
}

func handleMessagesTrash(c *call) (any, *apiError) {
	mb := c.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	m, err := mb.lookup(c.param("id"))
	if err != nil {
		return nil, err
	}
	mb.trashLocked(m)
	return mb.minimalRef(m), nil
}

// trashLocked adds TRASH and removes INBOX, remembering INBOX for untrash.
func (mb *Mailbox) trashLocked(m *message) {
	if m.labels.has(lblTrash) {
		return
	}
	m.wasInbox = m.labels.has(lblInbox)
	mb.changeLabels(m, []uint16{lblTrash}, []uint16{lblInbox})
}

func handleMessagesUntrash(c *call) (any, *apiError) {
	mb := c.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	m, err := mb.lookup(c.param("id"))
	if err != nil {
		return nil, err
	}
	if m.labels.has(lblTrash) {
		var add []uint16
		if m.wasInbox {
			add = []uint16{lblInbox}
		}
		mb.changeLabels(m, add, []uint16{lblTrash})
	}
	return mb.minimalRef(m), nil
}

func handleMessagesDelete(c *call) (any, *apiError) {
	mb := c.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	m, err := mb.lookup(c.param("id"))
	if err != nil {
		return nil, err
	}
	mb.deleteLocked(m)
	return nil, nil
}

// batchIDs validates the ids of a batch request.
func batchIDs(c *call, ids []string) *apiError {
	c.rec.BatchIDs = len(ids)
	c.rec.IDs = slices.Clone(ids)
	if len(ids) == 0 {
		return errInvalid("No message ids specified")
	}
	if len(ids) > maxBatchIDs {
		return errInvalid("Too many ids. At most %d ids may be specified, got %d.", maxBatchIDs, len(ids))
	}
	return nil
}

// handleBatchModify serves users.messages.batchModify: unknown ids are
// ignored (Gmail gives no guarantee they existed), unknown labels fail the
// whole call before anything changes.
func handleBatchModify(c *call) (any, *apiError) {
	var req modifyRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := batchIDs(c, req.IDs); err != nil {
		return nil, err
	}
	mb := c.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	add, remove, err := mb.resolveChange(req.AddLabelIDs, req.RemoveLabelIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range req.IDs {
		if n, ok := parseID(id); ok {
			if m := mb.msgs[n]; m != nil {
				if slices.Contains(add, lblTrash) && !m.labels.has(lblTrash) {
					m.wasInbox = m.labels.has(lblInbox)
				}
				mb.changeLabels(m, add, remove)
			}
		}
	}
	return nil, nil
}

func handleBatchDelete(c *call) (any, *apiError) {
	var req modifyRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := batchIDs(c, req.IDs); err != nil {
		return nil, err
	}
	mb := c.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	for _, id := range req.IDs {
		if n, ok := parseID(id); ok {
			if m := mb.msgs[n]; m != nil {
				mb.deleteLocked(m)
			}
		}
	}
	return nil, nil
}

type watchRequest struct {
	TopicName string   `json:"topicName"`
	LabelIDs  []string `json:"labelIds"`
}

func handleWatch(c *call) (any, *apiError) {
	var req watchRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	parts := strings.Split(req.TopicName, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != "topics" || parts[1] == "" || parts[3] == "" {
		return nil, errInvalid("Invalid topicName does not match projects/SOME_ANDROID_PROJECT/topics/*")
	}
	return map[string]string{
		"historyId":  strconv.FormatUint(c.mb.HistoryID(), 10),
		"expiration": strconv.FormatInt(c.now.Add(watchExpiresIn).UnixMilli(), 10),
	}, nil
}

func handleStop(*call) (any, *apiError) { return nil, nil }
