package fakegmail

import (
	"encoding/base64"
	"slices"
	"strconv"
)

// History record kinds; a label change can carry both label kinds.
const (
	histAdded uint8 = 1 << iota
	histDeleted
	histLabelAdded
	histLabelRemoved
)

// historyRecord is one entry of a mailbox's history log.
type historyRecord struct {
	id            uint64
	kind          uint8
	msgID         uint64
	threadID      uint64
	labelsAdded   labelSet
	labelsRemoved labelSet
	labels        labelSet // the message's labels after the change (shared)
}

// appendHistory assigns the next history id to r and stores it. Callers hold mu.
func (mb *Mailbox) appendHistory(r historyRecord) uint64 {
	r.id = mb.nextHistoryIDLocked()
	mb.history = append(mb.history, r)
	return r.id
}

type wireHistoryMessage struct {
	ID       string   `json:"id"`
	ThreadID string   `json:"threadId"`
	LabelIDs []string `json:"labelIds,omitempty"`
}

type wireMessageRef struct {
	Message wireHistoryMessage `json:"message"`
}

type wireLabelChange struct {
	Message  wireHistoryMessage `json:"message"`
	LabelIDs []string           `json:"labelIds"`
}

type wireHistory struct {
	ID              string               `json:"id"`
	Messages        []wireHistoryMessage `json:"messages,omitempty"`
	MessagesAdded   []wireMessageRef     `json:"messagesAdded,omitempty"`
	MessagesDeleted []wireMessageRef     `json:"messagesDeleted,omitempty"`
	LabelsAdded     []wireLabelChange    `json:"labelsAdded,omitempty"`
	LabelsRemoved   []wireLabelChange    `json:"labelsRemoved,omitempty"`
}

type wireHistoryList struct {
	History       []wireHistory `json:"history,omitempty"`
	HistoryID     string        `json:"historyId"`
	NextPageToken string        `json:"nextPageToken,omitempty"`
}

// handleHistoryList serves users.history.list.
func handleHistoryList(c *call) (any, *apiError) {
	start, err := strconv.ParseUint(c.query.Get("startHistoryId"), 10, 64)
	if err != nil || start == 0 {
		return nil, errInvalid("Missing/invalid parameter: startHistoryId")
	}
	max, apiErr := parseMaxResults(c.query.Get("maxResults"))
	if apiErr != nil {
		return nil, apiErr
	}
	var kinds uint8
	for _, t := range c.query["historyTypes"] {
		switch t {
		case "messageAdded":
			kinds |= histAdded
		case "messageDeleted":
			kinds |= histDeleted
		case "labelAdded":
			kinds |= histLabelAdded
		case "labelRemoved":
			kinds |= histLabelRemoved
		default:
			return nil, errInvalid("Invalid value for historyTypes: %s", t)
		}
	}
	if kinds == 0 {
		kinds = histAdded | histDeleted | histLabelAdded | histLabelRemoved
	}
	after := start
	if tok := c.query.Get("pageToken"); tok != "" {
		n, ok := decodeHistoryToken(tok)
		if !ok {
			return nil, errInvalid("Invalid pageToken")
		}
		after = n
	}

	mb := c.mb
	mb.mu.RLock()
	defer mb.mu.RUnlock()
	if start < mb.historyFloor {
		return nil, errNotFound()
	}
	labelFilter, filterByLabel := uint16(0), false
	if id := c.query.Get("labelId"); id != "" {
		l, ok := mb.resolveLabel(id)
		if !ok {
			// An unknown label can match nothing.
			return wireHistoryList{HistoryID: strconv.FormatUint(mb.historyID, 10)}, nil
		}
		labelFilter, filterByLabel = l, true
	}

	out := wireHistoryList{HistoryID: strconv.FormatUint(mb.historyID, 10)}
	i, _ := slices.BinarySearchFunc(mb.history, after+1, func(r historyRecord, id uint64) int {
		switch {
		case r.id < id:
			return -1
		case r.id > id:
			return 1
		}
		return 0
	})
	for ; i < len(mb.history); i++ {
		r := &mb.history[i]
		if r.kind&kinds == 0 {
			continue
		}
		if filterByLabel && !r.labels.has(labelFilter) && !r.labelsAdded.has(labelFilter) && !r.labelsRemoved.has(labelFilter) {
			continue
		}
		if len(out.History) == max {
			out.NextPageToken = encodeHistoryToken(out.History[len(out.History)-1].id())
			break
		}
		out.History = append(out.History, mb.wireHistory(r, kinds))
	}
	return out, nil
}

func (h wireHistory) id() uint64 {
	n, _ := strconv.ParseUint(h.ID, 10, 64)
	return n
}

// wireHistory renders a record restricted to the requested kinds. Callers
// hold mu.
func (mb *Mailbox) wireHistory(r *historyRecord, kinds uint8) wireHistory {
	ref := wireHistoryMessage{ID: formatID(r.msgID), ThreadID: formatID(r.threadID)}
	withLabels := ref
	withLabels.LabelIDs = mb.labelIDs(r.labels)
	h := wireHistory{ID: strconv.FormatUint(r.id, 10), Messages: []wireHistoryMessage{ref}}
	k := r.kind & kinds
	if k&histAdded != 0 {
		h.MessagesAdded = []wireMessageRef{{Message: withLabels}}
	}
	if k&histDeleted != 0 {
		h.MessagesDeleted = []wireMessageRef{{Message: ref}}
	}
	if k&histLabelAdded != 0 {
		h.LabelsAdded = []wireLabelChange{{Message: withLabels, LabelIDs: mb.labelIDs(r.labelsAdded)}}
	}
	if k&histLabelRemoved != 0 {
		h.LabelsRemoved = []wireLabelChange{{Message: withLabels, LabelIDs: mb.labelIDs(r.labelsRemoved)}}
	}
	return h
}

func encodeHistoryToken(id uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("h" + strconv.FormatUint(id, 10)))
}

func decodeHistoryToken(tok string) (uint64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 2 || b[0] != 'h' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[1:]), 10, 64)
	return n, err == nil
}
