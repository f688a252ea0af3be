package answer

import (
	"encoding/json"
	"strconv"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"

	"acceso/knowledge"
	"acceso/rules"
)

// wordedSize bounds the answers Service keeps worded and encoded: per
// revision, language and decision, not per request, so a few thousand
// cover every decision a revision gives in practice (the shared mix of
// 500 requests gives fewer than 500).
const wordedSize = 4096

// worded is a decision put into words in one language, and its JSON after
// the two fields every answer has of its own (decision_id, reference):
// what Service.Answer reuses, for Ask.JSON, when the same decision is
// answered again in the same language.
type worded struct {
	r    Response // DecisionID and Reference empty
	tail []byte   // `"policy_revision":…}`, as encoding/json writes r
}

// words is the Service's store of worded answers, made on first use.
type words struct {
	once  sync.Once
	cache *lru.Cache[string, worded]
}

// word gives the answer to d in lang as NewResponse does, with a fresh
// decision id, and the JSON of its tail; a decision worded before in the
// same language, by the same revision, is not worded nor encoded again.
// The Response's slices are shared with the kept copy: the caller only
// reads them.
func (w *words) word(p *rules.Policy, d knowledge.Decision, lang string) (Response, []byte) {
	w.once.Do(func() { w.cache, _ = lru.New[string, worded](wordedSize) })
	key := string(wordingKey(make([]byte, 0, 256), d, lang))
	if e, ok := w.cache.Get(key); ok {
		r := e.r
		r.DecisionID = newDecisionID()
		return r, e.tail
	}
	r := NewResponse(p, d, lang)
	id := r.DecisionID
	r.DecisionID = ""
	b, err := json.Marshal(r)
	if err != nil || len(b) < len(emptyHead) || string(b[:len(emptyHead)]) != emptyHead {
		// Not expected: a Response is strings and slices of them. Encode
		// the whole answer each time instead.
		r.DecisionID = id
		return r, nil
	}
	e := worded{r: r, tail: b[len(emptyHead):]}
	w.cache.Add(key, e)
	r.DecisionID = id
	return r, e.tail
}

// emptyHead is how encoding/json begins a Response whose decision id and
// reference are empty.
const emptyHead = `{"decision_id":"","reference":"",`

// wordingKey appends what NewResponse's words depend on beside the
// policy's texts (which its revision fixes): the language and every field
// of the decision. Ids are names (letters, digits, underscores), so the
// separators cannot occur in them; the counts keep the lists apart.
func wordingKey(b []byte, d knowledge.Decision, lang string) []byte {
	b = append(b, d.Revision...)
	b = append(b, 0)
	b = append(b, d.Topic...)
	b = append(b, 0)
	b = append(b, lang...)
	b = append(b, 0)
	b = append(b, d.Outcome...)
	list := func(b []byte, ss []string) []byte {
		b = append(b, 1)
		b = strconv.AppendInt(b, int64(len(ss)), 10)
		for _, s := range ss {
			b = append(b, 0)
			b = append(b, s...)
		}
		return b
	}
	b = list(b, d.Symptoms)
	b = list(b, d.RuledOut)
	b = list(b, d.ToTry)
	b = append(b, 2)
	b = strconv.AppendInt(b, int64(len(d.Findings)), 10)
	for _, f := range d.Findings {
		b = append(b, 0)
		b = append(b, f.ID...)
		b = append(b, 0)
		b = append(b, f.Symptom...)
		b = list(b, f.Because)
	}
	b = append(b, 3)
	b = strconv.AppendInt(b, int64(len(d.Questions)), 10)
	for _, q := range d.Questions {
		b = append(b, 0)
		b = append(b, q.Fact...)
		b = append(b, 0)
		b = append(b, q.Type...)
		b = append(b, 0)
		b = append(b, q.AskedOf...)
	}
	return b
}

// appendJSON appends r as encoding/json's Encoder writes it (a newline
// after it), given the JSON of its tail (worded.tail).
func appendJSON(b []byte, r Response, tail []byte) []byte {
	b = append(b, `{"decision_id":`...)
	b = appendString(b, r.DecisionID)
	b = append(b, `,"reference":`...)
	b = appendString(b, r.Reference)
	b = append(b, ',')
	b = append(b, tail...)
	return append(b, '\n')
}

// appendString appends s as a JSON string, as encoding/json writes it:
// printable ASCII other than the characters it escapes is written as is;
// anything else goes through json.Marshal.
func appendString(b []byte, s string) []byte {
	for i := range len(s) {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
