package fakegmail

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Indexes of the system labels in every mailbox's label table.
const (
	lblInbox uint16 = iota
	lblSpam
	lblTrash
	lblUnread
	lblStarred
	lblImportant
	lblSent
	lblDraft
	lblPersonal
	lblSocial
	lblPromotions
	lblUpdates
	lblForums
)

// systemLabelIDs returns the seeded system labels in index order.
func systemLabelIDs() []string {
	return []string{
		"INBOX", "SPAM", "TRASH", "UNREAD", "STARRED", "IMPORTANT", "SENT", "DRAFT",
		"CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS", "CATEGORY_UPDATES", "CATEGORY_FORUMS",
	}
}

// label is one entry of a mailbox's label table.
type label struct {
	id      string
	name    string
	system  bool
	deleted bool

	messageListVisibility string
	labelListVisibility   string
	color                 *labelColor
}

type labelColor struct {
	TextColor       string `json:"textColor,omitempty"`
	BackgroundColor string `json:"backgroundColor,omitempty"`
}

func systemLabel(id string) *label {
	l := &label{id: id, name: id, system: true}
	switch id {
	case "INBOX":
		l.messageListVisibility, l.labelListVisibility = "hide", "labelShow"
	case "SPAM", "TRASH", "DRAFT", "SENT", "IMPORTANT":
		l.messageListVisibility, l.labelListVisibility = "hide", "labelHide"
	}
	return l
}

// labelSet is a sorted set of label indexes. It is copy-on-write: with and
// without return new slices, so history records can share a message's set.
type labelSet []uint16

func (s labelSet) has(l uint16) bool {
	_, ok := slices.BinarySearch(s, l)
	return ok
}

func (s labelSet) with(l uint16) labelSet {
	i, ok := slices.BinarySearch(s, l)
	if ok {
		return s
	}
	out := make(labelSet, 0, len(s)+1)
	out = append(out, s[:i]...)
	out = append(out, l)
	return append(out, s[i:]...)
}

func (s labelSet) without(l uint16) labelSet {
	i, ok := slices.BinarySearch(s, l)
	if !ok {
		return s
	}
	out := make(labelSet, 0, len(s)-1)
	out = append(out, s[:i]...)
	return append(out, s[i+1:]...)
}

func newLabelSet(ls ...uint16) labelSet {
	s := slices.Clone(ls)
	slices.Sort(s)
	return slices.Compact(s)
}

// labelIDs renders a label set as wire ids. Callers hold mu.
func (mb *Mailbox) labelIDs(s labelSet) []string {
	out := make([]string, 0, len(s))
	for _, l := range s {
		out = append(out, mb.labels[l].id)
	}
	return out
}

// resolveLabel maps a wire label id to its index. Callers hold mu.
func (mb *Mailbox) resolveLabel(id string) (uint16, bool) {
	l, ok := mb.labelByID[id]
	return l, ok
}

// resolveChange validates the label ids of a modify request. SENT and DRAFT
// are not manually applicable. Callers hold mu.
func (mb *Mailbox) resolveChange(add, remove []string) (addIdx, removeIdx []uint16, err *apiError) {
	if len(add) > 100 || len(remove) > 100 {
		return nil, nil, errInvalid("Too many label ids. At most 100 label ids may be added or removed at once.")
	}
	for _, id := range add {
		l, ok := mb.resolveLabel(id)
		if !ok || l == lblSent || l == lblDraft {
			return nil, nil, errInvalidLabel(id)
		}
		addIdx = append(addIdx, l)
	}
	for _, id := range remove {
		l, ok := mb.resolveLabel(id)
		if !ok || l == lblSent || l == lblDraft {
			return nil, nil, errInvalidLabel(id)
		}
		removeIdx = append(removeIdx, l)
	}
	return addIdx, removeIdx, nil
}

// labelByName finds a live label by name, case-insensitively. Callers hold mu.
func (mb *Mailbox) labelByName(name string) (uint16, bool) {
	for i, l := range mb.labels {
		if !l.deleted && strings.EqualFold(l.name, name) {
			return uint16(i), true
		}
	}
	return 0, false
}

// reservedLabelName reports names Gmail refuses for user labels.
func reservedLabelName(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "", "inbox", "spam", "trash", "unread", "starred", "important", "sent", "draft", "drafts",
		"chat", "chats", "muted", "all mail", "snoozed", "scheduled", "outbox":
		return true
	}
	return strings.HasPrefix(n, "category_") || len(name) > 225 || strings.ContainsAny(name, "\r\n")
}

// createLabelLocked adds a user label. Callers hold mu.
func (mb *Mailbox) createLabelLocked(in wireLabel) (*label, *apiError) {
	name := strings.TrimSpace(in.Name)
	if reservedLabelName(name) {
		return nil, errInvalid("Invalid label name")
	}
	if err := validateVisibility(in.MessageListVisibility, in.LabelListVisibility); err != nil {
		return nil, err
	}
	if _, dup := mb.labelByName(name); dup {
		return nil, newAPIError(http.StatusConflict, "aborted", "Label name exists or conflicts")
	}
	if len(mb.labels) >= 10000 {
		return nil, errInvalid("Too many labels")
	}
	l := &label{
		id:                    "Label_" + strconv.Itoa(mb.nextLabel),
		name:                  name,
		messageListVisibility: in.MessageListVisibility,
		labelListVisibility:   in.LabelListVisibility,
		color:                 in.Color,
	}
	mb.nextLabel++
	mb.labelByID[l.id] = uint16(len(mb.labels))
	mb.labels = append(mb.labels, l)
	mb.nextHistoryIDLocked()
	return l, nil
}

func validateVisibility(messageList, labelList string) *apiError {
	switch messageList {
	case "", "show", "hide":
	default:
		return errInvalid("Invalid messageListVisibility: %s", messageList)
	}
	switch labelList {
	case "", "labelShow", "labelShowIfUnread", "labelHide":
	default:
		return errInvalid("Invalid labelListVisibility: %s", labelList)
	}
	return nil
}

// CreateLabel creates a user label server-side and returns its id (Label_N).
func (mb *Mailbox) CreateLabel(name string) (string, error) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	l, err := mb.createLabelLocked(wireLabel{Name: name, MessageListVisibility: "show", LabelListVisibility: "labelShow"})
	if err != nil {
		return "", fmt.Errorf("create label %q: %w", name, err)
	}
	return l.id, nil
}

// LabelID returns the id of the live label with the given name
// (case-insensitive); system labels are named by their ids.
func (mb *Mailbox) LabelID(name string) (string, bool) {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	l, ok := mb.labelByName(name)
	if !ok {
		return "", false
	}
	return mb.labels[l].id, true
}

// LabelNames maps the id of every live label to its name (system labels
// are named by their ids).
func (mb *Mailbox) LabelNames() map[string]string {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	names := make(map[string]string, len(mb.labels))
	for _, l := range mb.labels {
		if !l.deleted {
			names[l.id] = l.name
		}
	}
	return names
}

// wireLabel is the JSON shape of users.labels.
type wireLabel struct {
	ID                    string      `json:"id,omitempty"`
	Name                  string      `json:"name,omitempty"`
	MessageListVisibility string      `json:"messageListVisibility,omitempty"`
	LabelListVisibility   string      `json:"labelListVisibility,omitempty"`
	Type                  string      `json:"type,omitempty"`
	MessagesTotal         *int        `json:"messagesTotal,omitempty"`
	MessagesUnread        *int        `json:"messagesUnread,omitempty"`
	ThreadsTotal          *int        `json:"threadsTotal,omitempty"`
	ThreadsUnread         *int        `json:"threadsUnread,omitempty"`
	Color                 *labelColor `json:"color,omitempty"`
}

func (l *label) wire() wireLabel {
	w := wireLabel{
		ID:                    l.id,
		Name:                  l.name,
		MessageListVisibility: l.messageListVisibility,
		LabelListVisibility:   l.labelListVisibility,
		Type:                  "user",
		Color:                 l.color,
	}
	if l.system {
		w.Type = "system"
	}
	return w
}

// withCounts adds the counters labels.get returns. Callers hold mu.
func (mb *Mailbox) withCounts(idx uint16) wireLabel {
	w := mb.labels[idx].wire()
	var total, unread int
	threads := make(map[uint64]bool) // thread -> has unread
	for _, m := range mb.order {
		if !m.labels.has(idx) {
			continue
		}
		total++
		isUnread := m.labels.has(lblUnread)
		if isUnread {
			unread++
		}
		threads[m.threadID] = threads[m.threadID] || isUnread
	}
	threadsUnread := 0
	for _, u := range threads {
		if u {
			threadsUnread++
		}
	}
	threadsTotal := len(threads)
	w.MessagesTotal, w.MessagesUnread = &total, &unread
	w.ThreadsTotal, w.ThreadsUnread = &threadsTotal, &threadsUnread
	return w
}

func handleLabelsList(c *call) (any, *apiError) {
	c.mb.mu.RLock()
	defer c.mb.mu.RUnlock()
	out := make([]wireLabel, 0, len(c.mb.labels))
	for _, l := range c.mb.labels {
		if !l.deleted {
			out = append(out, l.wire())
		}
	}
	return map[string]any{"labels": out}, nil
}

func handleLabelsGet(c *call) (any, *apiError) {
	c.mb.mu.RLock()
	defer c.mb.mu.RUnlock()
	idx, ok := c.mb.resolveLabel(c.param("id"))
	if !ok {
		return nil, errNotFound()
	}
	return c.mb.withCounts(idx), nil
}

func handleLabelsCreate(c *call) (any, *apiError) {
	var in wireLabel
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	c.mb.mu.Lock()
	defer c.mb.mu.Unlock()
	l, err := c.mb.createLabelLocked(in)
	if err != nil {
		return nil, err
	}
	return l.wire(), nil
}

// handleLabelsUpdate serves PUT (replace) and PATCH (merge).
func handleLabelsUpdate(c *call) (any, *apiError) {
	var in wireLabel
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	patch := c.r.Method == http.MethodPatch
	c.mb.mu.Lock()
	defer c.mb.mu.Unlock()
	idx, ok := c.mb.resolveLabel(c.param("id"))
	if !ok {
		return nil, errNotFound()
	}
	l := c.mb.labels[idx]
	if l.system {
		return nil, errInvalid("Invalid update request")
	}
	if err := validateVisibility(in.MessageListVisibility, in.LabelListVisibility); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" && patch {
		name = l.name
	}
	if reservedLabelName(name) {
		return nil, errInvalid("Invalid label name")
	}
	if other, dup := c.mb.labelByName(name); dup && other != idx {
		return nil, newAPIError(http.StatusConflict, "aborted", "Label name exists or conflicts")
	}
	l.name = name
	if !patch || in.MessageListVisibility != "" {
		l.messageListVisibility = in.MessageListVisibility
	}
	if !patch || in.LabelListVisibility != "" {
		l.labelListVisibility = in.LabelListVisibility
	}
	if !patch || in.Color != nil {
		l.color = in.Color
	}
	c.mb.nextHistoryIDLocked()
	return l.wire(), nil
}

func handleLabelsDelete(c *call) (any, *apiError) {
	c.mb.mu.Lock()
	defer c.mb.mu.Unlock()
	idx, ok := c.mb.resolveLabel(c.param("id"))
	if !ok {
		return nil, errNotFound()
	}
	if c.mb.labels[idx].system {
		return nil, errInvalid("Invalid delete request")
	}
	c.mb.deleteLabelLocked(idx)
	return nil, nil
}

// deleteLabelLocked strips a user label from every message (with history)
// and retires it. Callers hold mu.
func (mb *Mailbox) deleteLabelLocked(idx uint16) {
	for _, m := range mb.order {
		if m.labels.has(idx) {
			mb.changeLabels(m, nil, []uint16{idx})
		}
	}
	l := mb.labels[idx]
	l.deleted = true
	delete(mb.labelByID, l.id)
	mb.nextHistoryIDLocked()
}

// DeleteLabel deletes a user label server-side, removing it from messages.
func (mb *Mailbox) DeleteLabel(id string) error {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	idx, ok := mb.resolveLabel(id)
	if !ok {
		return fmt.Errorf("delete label %s: %w", id, errNotFound())
	}
	if mb.labels[idx].system {
		return fmt.Errorf("delete label %s: %w", id, errInvalid("Invalid delete request"))
	}
	mb.deleteLabelLocked(idx)
	return nil
}
