package answer

import (
	"acceso/knowledge"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxLangLen bounds a request's lang hint.
const MaxLangLen = 35

// Decode reads a request body strictly against the facts cat declares, in
// one pass over its tokens: it must be one JSON object whose fields are all
// known and well-typed. With several topics (cat.Topics), the symptom and
// the facts must be those of the topic the request goes to (the one it
// names, else its symptom's, else the default topic). A body that is not strict JSON (a syntax error, a
// duplicate key, invalid UTF-8, a lone surrogate, a second value) is an
// invalid_json error naming the place; anything else wrong is an
// invalid_facts error listing every field at fault, not just the first.
func Decode(cat knowledge.Catalog, body []byte) (knowledge.Request, error) {
	dec := decoders.Get().(*jsontext.Decoder)
	defer decoders.Put(dec)
	dec.Reset(bytes.NewReader(body))
	d := decoder{dec: dec, cat: cat}
	req, err := d.request()
	if err != nil {
		return knowledge.Request{}, err
	}
	if len(d.problems) > 0 {
		return knowledge.Request{}, Invalid(d.problems...)
	}
	return req, nil
}

// decoders are token readers kept between requests: a new one costs more
// than the rest of a decoding.
var decoders = sync.Pool{New: func() any { return jsontext.NewDecoder(bytes.NewReader(nil)) }}

// decoder reads one request, gathering the fields at fault.
type decoder struct {
	dec      *jsontext.Decoder
	cat      knowledge.Catalog
	problems []FieldError
}

func (d *decoder) bad(field, problem string) {
	d.problems = append(d.problems, FieldError{field, problem})
}

// invalidJSON is the error of a body that is not strict JSON.
func (d *decoder) invalidJSON(err error) error {
	if _, ok := errors.AsType[*Error](err); ok {
		return err
	}
	msg := strings.TrimPrefix(err.Error(), "jsontext: ")
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "it ends too soon"
	}
	return Errorf(CodeInvalidJSON, "the body is not valid JSON: "+msg)
}

func (d *decoder) request() (knowledge.Request, error) {
	if d.dec.PeekKind() != '{' {
		if _, err := d.dec.ReadValue(); err != nil {
			return knowledge.Request{}, d.invalidJSON(err)
		}
		if err := d.end(); err != nil {
			return knowledge.Request{}, err
		}
		d.bad("body", "must be a JSON object")
		return knowledge.Request{}, nil
	}
	// A request names a few of the declared facts: room for eight at first
	// (one group of a map) instead of all of them, which allocated about
	// 1 KB a request that was never filled.
	req := knowledge.Request{Facts: make(map[string]any, min(len(d.cat.Facts), 8))}
	if _, err := d.dec.ReadToken(); err != nil {
		return req, d.invalidJSON(err)
	}
	for d.dec.PeekKind() != '}' {
		name, err := d.dec.ReadToken()
		if err != nil {
			return req, d.invalidJSON(err)
		}
		switch key := name.String(); key {
		case "symptom":
			s, problem, err := d.string(knowledge.MaxStringLen)
			switch {
			case err != nil:
				return req, d.invalidJSON(err)
			case problem != "":
				d.bad("symptom", problem)
			case s != "" && !slices.Contains(d.cat.Symptoms, s):
				d.bad("symptom", "must be one of "+strings.Join(d.cat.Symptoms, ", "))
			default:
				req.Symptom = s
			}
		case "topic":
			s, problem, err := d.string(knowledge.MaxStringLen)
			switch {
			case err != nil:
				return req, d.invalidJSON(err)
			case problem != "":
				d.bad("topic", problem)
			case s != "" && !slices.Contains(d.cat.TopicNames(), s):
				d.bad("topic", "must be one of "+strings.Join(d.cat.TopicNames(), ", "))
			default:
				req.Topic = s
			}
		case "lang":
			s, problem, err := d.string(MaxLangLen)
			if err != nil {
				return req, d.invalidJSON(err)
			}
			if problem != "" {
				d.bad("lang", problem)
			}
			req.Lang = s
		case "facts":
			if err := d.facts(req.Facts); err != nil {
				return req, d.invalidJSON(err)
			}
		default:
			d.bad(fieldName(key), "unknown field")
			if err := d.dec.SkipValue(); err != nil {
				return req, d.invalidJSON(err)
			}
		}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return req, d.invalidJSON(err)
	}
	if err := d.end(); err != nil {
		return req, err
	}
	d.inTopic(&req)
	slices.SortFunc(d.problems, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
	return req, nil
}

// inTopic checks, when the catalog has several topics, that the request's
// symptom and facts are its topic's: a symptom of another topic than the
// one named, or a fact its topic does not declare, is at fault.
func (d *decoder) inTopic(req *knowledge.Request) {
	if len(d.cat.Topics) < 2 || slices.ContainsFunc(d.problems, func(p FieldError) bool { return p.Field == "topic" || p.Field == "symptom" }) {
		return
	}
	t, _ := d.cat.TopicOf(req.Topic, req.Symptom)
	if req.Symptom != "" && !slices.Contains(t.Symptoms, req.Symptom) {
		d.bad("symptom", "must be one of "+strings.Join(t.Symptoms, ", ")+" (the symptoms of the topic "+t.Topic+")")
	}
	for _, name := range slices.Sorted(maps.Keys(req.Facts)) {
		if _, ok := t.Fact(name); !ok {
			d.bad("facts."+fieldName(name), "unknown fact in the topic "+t.Topic)
			delete(req.Facts, name)
		}
	}
}

// end checks that nothing but space follows the value.
func (d *decoder) end() error {
	_, err := d.dec.ReadToken()
	switch {
	case err == io.EOF:
		return nil
	case err == nil:
		return Errorf(CodeInvalidJSON, fmt.Sprintf("the body is not valid JSON: a second value at offset %d", d.dec.InputOffset()))
	}
	return d.invalidJSON(err)
}

// facts reads the facts object into into; null is no fact known.
func (d *decoder) facts(into map[string]any) error {
	switch d.dec.PeekKind() {
	case 'n':
		_, err := d.dec.ReadToken()
		return err
	case '{':
	default:
		d.bad("facts", "must be an object")
		return d.dec.SkipValue()
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return err
	}
	for d.dec.PeekKind() != '}' {
		name, err := d.dec.ReadToken()
		if err != nil {
			return err
		}
		fact, known := d.cat.Fact(name.String())
		switch {
		case !known:
			d.bad("facts."+fieldName(name.String()), "unknown fact")
			err = d.dec.SkipValue()
		case d.dec.PeekKind() == 'n':
			_, err = d.dec.ReadToken() // null is an explicit unknown
		default:
			var v any
			var problem string
			v, problem, err = d.fact(fact)
			if err == nil && problem != "" {
				d.bad("facts."+fieldName(fact.Name), problem)
			} else if err == nil {
				into[fact.Name] = v
			}
		}
		if err != nil {
			return err
		}
	}
	_, err := d.dec.ReadToken()
	return err
}

// fact reads one known fact's value in the shape a request holds it (bool,
// int, string or []string); problem says what is wrong with it. The shape
// is read here, token by token; the limits are the fact's own, f.Check, the
// same that a kept decision's facts meet when they become a request.
func (d *decoder) fact(f knowledge.Fact) (any, string, error) {
	var v any
	switch f.Type {
	case knowledge.TypeBoolean:
		if k := d.dec.PeekKind(); k != 't' && k != 'f' {
			return nil, "must be a boolean", d.dec.SkipValue()
		}
		tok, err := d.dec.ReadToken()
		if err != nil {
			return nil, "", err
		}
		v = tok.Bool()
	case knowledge.TypeString:
		s, problem, err := d.text()
		if err != nil || problem != "" {
			return nil, problem, err
		}
		v = s
	case knowledge.TypeStrings, knowledge.TypeChoices:
		if d.dec.PeekKind() != '[' {
			return nil, "must be an array of strings", d.dec.SkipValue()
		}
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, "", err
		}
		list := []string{}
		problem := ""
		for i := 0; d.dec.PeekKind() != ']'; i++ {
			s, p, err := d.text()
			if err != nil {
				return nil, "", err
			}
			if p != "" && problem == "" {
				problem = fmt.Sprintf("item %d %s", i, p)
			}
			list = append(list, s)
		}
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, "", err
		}
		if problem != "" {
			return nil, problem, nil
		}
		v = list
	case knowledge.TypeCount:
		if d.dec.PeekKind() != '0' {
			return nil, "must be a whole number", d.dec.SkipValue()
		}
		tok, err := d.dec.ReadToken()
		if err != nil {
			return nil, "", err
		}
		i, perr := strconv.ParseInt(tok.String(), 10, 64)
		if perr != nil {
			return nil, "must be a whole number", nil
		}
		v = int(i)
	}
	if problem := f.Check(v); problem != "" {
		return nil, problem, nil
	}
	return v, "", nil
}

// string reads a string value of at most maxLen characters (null reads as
// ""); problem says what is wrong with it.
func (d *decoder) string(maxLen int) (string, string, error) {
	s, problem, err := d.text()
	if err == nil && problem == "" && utf8.RuneCountInString(s) > maxLen {
		return "", fmt.Sprintf("must be at most %d characters", maxLen), nil
	}
	return s, problem, err
}

// text reads a string value of any length (null reads as ""); problem says
// what is wrong with it.
func (d *decoder) text() (string, string, error) {
	if d.dec.PeekKind() == 'n' {
		_, err := d.dec.ReadToken()
		return "", "", err
	}
	if d.dec.PeekKind() != '"' {
		return "", "must be a string", d.dec.SkipValue()
	}
	tok, err := d.dec.ReadToken()
	if err != nil {
		return "", "", err
	}
	return tok.String(), "", nil
}

// fieldName is a key as it appears in a field path: as it is when it is a
// plain name, quoted when it is empty or holds other characters.
func fieldName(key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return key
	}
	return strconv.Quote(key)
}
