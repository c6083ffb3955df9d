package fakegmail

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Mailbox is one user's in-memory Gmail mailbox: messages, labels and the
// history log. All methods are safe for concurrent use. A Mailbox is served by
// a [Server] once registered with [Server.AddMailbox]; its Go methods change it
// server-side (new mail arriving, a user archiving in the web UI) and record
// history exactly like the API does.
type Mailbox struct {
	mu sync.RWMutex

	address string
	seed    int64
	rng     *rand.Rand
	now     func() time.Time

	labels    []*label // index = label number; never shrinks
	labelByID map[string]uint16
	nextLabel int // next user label number (Label_N)

	msgs  map[uint64]*message
	order []*message // newest first: internalDate desc, id desc

	history      []historyRecord // ascending id
	historyID    uint64
	historyFloor uint64

	gen *generator // nil for mailboxes that were not generated
}

// message is one stored message. Generated messages keep only the few numbers
// their content is derived from; messages added through AddMessage keep their
// raw RFC 2822 bytes.
type message struct {
	id        uint64
	threadID  uint64
	date      int64 // internalDate, ms since epoch
	historyID uint64
	labels    labelSet // copy-on-write: never mutated in place
	// size is len(raw); 0 until first computed for generated messages.
	size atomic.Int64
	// wasInbox remembers INBOX across trash/untrash.
	wasInbox bool

	gen    genMeta
	stored *storedContent
}

// storedContent is the content of a message added with raw bytes.
type storedContent struct {
	raw     []byte
	summary summary
}

// summary is what search needs from a message's content.
type summary struct {
	from, to, subject, snippet, listID string
	hasAttachment                      bool
}

// NewMailbox returns an empty mailbox for address with the system labels.
// The seed makes history ids and generated message ids deterministic.
func NewMailbox(address string, seed int64) *Mailbox {
	mb := &Mailbox{
		address:   address,
		seed:      seed,
		rng:       rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)),
		labelByID: make(map[string]uint16),
		nextLabel: 1,
		msgs:      make(map[uint64]*message),
	}
	for i, id := range systemLabelIDs() {
		mb.labels = append(mb.labels, systemLabel(id))
		mb.labelByID[id] = uint16(i)
	}
	mb.historyID = 1000 + uint64(mb.rng.IntN(100000))
	mb.historyFloor = mb.historyID
	return mb
}

// Address returns the mailbox's email address.
func (mb *Mailbox) Address() string { return mb.address }

// setClock installs the clock used for messages added without a date.
func (mb *Mailbox) setClock(now func() time.Time) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.now == nil {
		mb.now = now
	}
}

func (mb *Mailbox) clock() time.Time {
	if mb.now != nil {
		return mb.now()
	}
	return time.Now()
}

// HistoryID returns the mailbox's current history id.
func (mb *Mailbox) HistoryID() uint64 {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	return mb.historyID
}

// MessageCount returns the number of messages, including spam and trash.
func (mb *Mailbox) MessageCount() int {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	return len(mb.msgs)
}

// ThreadCount returns the number of distinct threads.
func (mb *Mailbox) ThreadCount() int {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	return mb.threadCountLocked()
}

func (mb *Mailbox) threadCountLocked() int {
	threads := make(map[uint64]struct{}, len(mb.msgs))
	for _, m := range mb.order {
		threads[m.threadID] = struct{}{}
	}
	return len(threads)
}

// CountLabel returns how many messages carry the label id (e.g. "INBOX",
// "Label_3"); 0 for unknown labels.
func (mb *Mailbox) CountLabel(labelID string) int {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	idx, ok := mb.labelByID[labelID]
	if !ok {
		return 0
	}
	n := 0
	for _, m := range mb.order {
		if m.labels.has(idx) {
			n++
		}
	}
	return n
}

// MessageIDs returns all message ids, newest first.
func (mb *Mailbox) MessageIDs() []string {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	ids := make([]string, len(mb.order))
	for i, m := range mb.order {
		ids[i] = formatID(m.id)
	}
	return ids
}

// MessageLabels returns the label ids of a message.
func (mb *Mailbox) MessageLabels(id string) ([]string, error) {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	m, err := mb.lookup(id)
	if err != nil {
		return nil, fmt.Errorf("message labels: %w", err)
	}
	return mb.labelIDs(m.labels), nil
}

// ThreadID returns the thread id of a message.
func (mb *Mailbox) ThreadID(id string) (string, error) {
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	m, err := mb.lookup(id)
	if err != nil {
		return "", fmt.Errorf("thread id: %w", err)
	}
	return formatID(m.threadID), nil
}

// ModifyLabels adds and removes labels on one message server-side, recording
// history like messages.modify does.
func (mb *Mailbox) ModifyLabels(id string, add, remove []string) error {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	m, err := mb.lookup(id)
	if err != nil {
		return fmt.Errorf("modify labels: %w", err)
	}
	addIdx, removeIdx, apiErr := mb.resolveChange(add, remove)
	if apiErr != nil {
		return fmt.Errorf("modify labels: %w", apiErr)
	}
	mb.changeLabels(m, addIdx, removeIdx)
	return nil
}

// DeleteMessage permanently deletes a message server-side, recording a
// messageDeleted history entry.
func (mb *Mailbox) DeleteMessage(id string) error {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	m, err := mb.lookup(id)
	if err != nil {
		return fmt.Errorf("delete message: %w", err)
	}
	mb.deleteLocked(m)
	return nil
}

// ExpireHistoryBefore drops history records older than id; history.list with
// an older startHistoryId then answers 404 like Gmail after its retention.
func (mb *Mailbox) ExpireHistoryBefore(id uint64) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if id <= mb.historyFloor {
		return
	}
	mb.historyFloor = id
	i, _ := slices.BinarySearchFunc(mb.history, id, func(r historyRecord, id uint64) int {
		switch {
		case r.id < id:
			return -1
		case r.id > id:
			return 1
		}
		return 0
	})
	mb.history = slices.Delete(mb.history, 0, i)
}

// lookup parses a wire id and finds the message. Callers hold mu.
func (mb *Mailbox) lookup(id string) (*message, *apiError) {
	n, ok := parseID(id)
	if !ok {
		return nil, errInvalid("Invalid id value")
	}
	m := mb.msgs[n]
	if m == nil {
		return nil, errNotFound()
	}
	return m, nil
}

// nextHistoryIDLocked bumps the history id by a random gap, like Gmail's
// increasing but non-contiguous ids.
func (mb *Mailbox) nextHistoryIDLocked() uint64 {
	mb.historyID += 1 + uint64(mb.rng.IntN(24))
	return mb.historyID
}

// insertLocked adds m to the indexes. Callers hold mu.
func (mb *Mailbox) insertLocked(m *message) {
	mb.msgs[m.id] = m
	i, _ := slices.BinarySearchFunc(mb.order, m, compareOrder)
	mb.order = slices.Insert(mb.order, i, m)
}

// compareOrder orders messages newest first.
func compareOrder(a, b *message) int {
	return compareKey(a.date, a.id, b.date, b.id)
}

func compareKey(aDate int64, aID uint64, bDate int64, bID uint64) int {
	switch {
	case aDate > bDate:
		return -1
	case aDate < bDate:
		return 1
	case aID > bID:
		return -1
	case aID < bID:
		return 1
	}
	return 0
}

// deleteLocked removes m and records messageDeleted. Callers hold mu.
func (mb *Mailbox) deleteLocked(m *message) {
	delete(mb.msgs, m.id)
	if i, found := slices.BinarySearchFunc(mb.order, m, compareOrder); found {
		mb.order = slices.Delete(mb.order, i, i+1)
	}
	mb.appendHistory(historyRecord{
		kind:     histDeleted,
		msgID:    m.id,
		threadID: m.threadID,
		labels:   m.labels,
	})
}

// changeLabels applies a label change and records history when something
// really changed. It returns whether the message changed. Callers hold mu.
func (mb *Mailbox) changeLabels(m *message, add, remove []uint16) bool {
	var added, removed labelSet
	labels := m.labels
	for _, l := range add {
		if !labels.has(l) {
			labels = labels.with(l)
			added = added.with(l)
		}
	}
	for _, l := range remove {
		if labels.has(l) && !added.has(l) {
			labels = labels.without(l)
			removed = removed.with(l)
		}
	}
	if len(added) == 0 && len(removed) == 0 {
		return false
	}
	m.labels = labels
	kind := uint8(0)
	if len(added) > 0 {
		kind |= histLabelAdded
	}
	if len(removed) > 0 {
		kind |= histLabelRemoved
	}
	m.historyID = mb.appendHistory(historyRecord{
		kind:          kind,
		msgID:         m.id,
		threadID:      m.threadID,
		labelsAdded:   added,
		labelsRemoved: removed,
		labels:        labels,
	})
	return true
}

// formatID renders a message id as Gmail's 16 lower-case hex digits.
func formatID(id uint64) string {
	s := strconv.FormatUint(id, 16)
	if len(s) < 16 {
		s = strings.Repeat("0", 16-len(s)) + s
	}
	return s
}

// parseID parses a 1..16 hex digit id.
func parseID(s string) (uint64, bool) {
	if s == "" || len(s) > 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// newIDLocked returns an unused id derived from the date like Gmail's ids
// (milliseconds in the high bits, random low bits). Callers hold mu.
func (mb *Mailbox) newIDLocked(dateMS int64) uint64 {
	for {
		id := uint64(dateMS)<<20 | uint64(mb.rng.IntN(1<<20))
		if _, taken := mb.msgs[id]; !taken && id != 0 {
			return id
		}
	}
}
