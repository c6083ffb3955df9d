package fakegmail

import (
	"bytes"
	"encoding/json"
	"strings"
)

// fieldTree is a parsed partial-response selector ("fields" parameter). A
// nil subtree selects the whole value.
type fieldTree map[string]fieldTree

// parseFields parses Google's selector syntax: a,b/c,d(e,f).
func parseFields(s string) (fieldTree, bool) {
	p := &fieldsParser{s: s}
	t, ok := p.list()
	return t, ok && p.i == len(p.s)
}

type fieldsParser struct {
	s string
	i int
}

func (p *fieldsParser) list() (fieldTree, bool) {
	t := fieldTree{}
	for {
		if !p.item(t) {
			return nil, false
		}
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		return t, true
	}
}

func (p *fieldsParser) item(t fieldTree) bool {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(",()", rune(p.s[p.i])) {
		p.i++
	}
	names := strings.Split(strings.TrimSpace(p.s[start:p.i]), "/")
	for _, n := range names {
		if n == "" {
			return false
		}
	}
	var leaf fieldTree
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		sub, ok := p.list()
		if !ok || p.i >= len(p.s) || p.s[p.i] != ')' {
			return false
		}
		p.i++
		leaf = sub
	}
	cur := t
	for i, n := range names {
		if i == len(names)-1 {
			if existing, ok := cur[n]; ok && existing != nil && leaf != nil {
				for k, v := range leaf {
					existing[k] = v
				}
			} else if !ok || leaf == nil {
				cur[n] = leaf
			}
			break
		}
		next, ok := cur[n]
		if ok && next == nil {
			return true // the whole parent is already selected
		}
		if !ok {
			next = fieldTree{}
			cur[n] = next
		}
		cur = next
	}
	return true
}

// apply keeps only the selected fields of a decoded JSON value.
func (t fieldTree) apply(v any) any {
	if t == nil {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, sub := range t {
			if val, ok := x[k]; ok {
				out[k] = sub.apply(val)
			}
		}
		return out
	case []any:
		for i := range x {
			x[i] = t.apply(x[i])
		}
		return x
	}
	return v
}

// applyFields renders body restricted to the selector.
func applyFields(body any, t fieldTree) ([]byte, *apiError) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, errInvalid("Could not render response")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errInvalid("Could not render response")
	}
	out, err := json.Marshal(t.apply(v))
	if err != nil {
		return nil, errInvalid("Could not render response")
	}
	return out, nil
}
