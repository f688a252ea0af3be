package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Error codes of a request that cannot be answered, as the API names them.
const (
	CodeInvalidJSON      = "invalid_json"
	CodeInvalidFacts     = "invalid_facts"
	CodeEvaluationFailed = "evaluation_failed"
)

// Limits on a request's values.
const (
	MaxStringLen   = 320 // the longest email address allowed by RFC 5321
	MaxListLen     = 50
	MaxLangLen     = 35
	MaxCodesNumber = 1000
)

// Channels are the ways a code can be sent.
var Channels = []string{"email", "sms"}

// RequestError is a request that was refused before evaluation: its code
// (invalid_json or invalid_facts), a message, and every field at fault.
type RequestError struct {
	Code    string
	Message string
	Details []FieldError
}

func (e *RequestError) Error() string {
	if len(e.Details) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Details))
	for i, d := range e.Details {
		parts[i] = d.Field + ": " + d.Problem
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// FieldError names a field of the request by its path and says what is
// wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// ErrEvaluation is the error of an evaluation that failed or ran past its
// deadline.
var ErrEvaluation = errors.New("rule evaluation failed")

// Request is a validated request: an optional symptom, an optional language
// hint and the known facts. A fact that is absent is unknown.
type Request struct {
	Symptom string
	Lang    string
	// Facts holds each known fact as bool, int, string or []string.
	Facts map[string]any
}

type factKind int

const (
	kindBool factKind = iota
	kindString
	kindStrings
	kindChannels
	kindCount
)

// factKinds is the API's fact vocabulary: every fact a request may carry
// and the type of its value.
var factKinds = map[string]factKind{
	"identifier":            kindString,
	"registered_emails":     kindStrings,
	"registered_phones":     kindStrings,
	"identifier_registered": kindBool,
	"opted_out":             kindBool,
	"channels_tried":        kindChannels,
	"spam_checked":          kindBool,
	"online":                kindBool,
	"incognito":             kindBool,
	"cookies_autodelete":    kindBool,
	"new_device":            kindBool,
	"message_published":     kindBool,
	"vpn":                   kindBool,
	"codes_requested":       kindCount,
	"used_latest_code":      kindBool,
}

// Facts returns the names of the facts a request may carry, sorted.
func Facts() []string { return slices.Sorted(maps.Keys(factKinds)) }

// Choices returns the values a fact whose value is a list of choices may
// hold, in the API's order, or nil for any other fact.
func Choices(fact string) []string {
	if kind, ok := factKinds[fact]; ok && kind == kindChannels {
		return slices.Clone(Channels)
	}
	return nil
}

// DecodeRequest reads a request body strictly: it must be one JSON object
// whose fields are all known and well-typed. A body that is not JSON is an
// invalid_json error; anything else wrong is an invalid_facts error listing
// every field at fault, not just the first.
func (c Catalog) DecodeRequest(body []byte) (Request, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Request{}, invalidFacts([]FieldError{{Field: "body", Problem: "must be a JSON object"}})
		}
		return Request{}, &RequestError{Code: CodeInvalidJSON, Message: "the body is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if top == nil {
		return Request{}, invalidFacts([]FieldError{{Field: "body", Problem: "must be a JSON object"}})
	}
	req := Request{Facts: make(map[string]any)}
	var problems []FieldError
	for _, key := range slices.Sorted(maps.Keys(top)) {
		raw := top[key]
		switch key {
		case "symptom":
			s, problem := decodeString(raw, MaxStringLen)
			switch {
			case problem != "":
				problems = append(problems, FieldError{"symptom", problem})
			case s != "" && !slices.Contains(c.Symptoms, s):
				problems = append(problems, FieldError{"symptom", "must be one of " + strings.Join(c.Symptoms, ", ")})
			default:
				req.Symptom = s
			}
		case "lang":
			s, problem := decodeString(raw, MaxLangLen)
			if problem != "" {
				problems = append(problems, FieldError{"lang", problem})
			}
			req.Lang = s
		case "facts":
			problems = append(problems, decodeFacts(raw, req.Facts)...)
		default:
			problems = append(problems, FieldError{fieldName(key), "unknown field"})
		}
	}
	if len(problems) > 0 {
		return Request{}, invalidFacts(problems)
	}
	return req, nil
}

func invalidFacts(problems []FieldError) error {
	return &RequestError{Code: CodeInvalidFacts, Message: "the request has invalid fields", Details: problems}
}

func decodeFacts(raw json.RawMessage, into map[string]any) []FieldError {
	if isNull(raw) {
		return nil
	}
	var facts map[string]json.RawMessage
	if err := json.Unmarshal(raw, &facts); err != nil {
		return []FieldError{{"facts", "must be an object"}}
	}
	var problems []FieldError
	for _, name := range slices.Sorted(maps.Keys(facts)) {
		field := "facts." + fieldName(name)
		kind, known := factKinds[name]
		if !known {
			problems = append(problems, FieldError{field, "unknown fact"})
			continue
		}
		v := facts[name]
		if isNull(v) {
			continue // null is an explicit unknown
		}
		value, problem := decodeFact(kind, v)
		if problem != "" {
			problems = append(problems, FieldError{field, problem})
			continue
		}
		into[name] = value
	}
	return problems
}

func decodeFact(kind factKind, raw json.RawMessage) (any, string) {
	switch kind {
	case kindBool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, "must be a boolean"
		}
		return b, ""
	case kindString:
		s, problem := decodeString(raw, MaxStringLen)
		if problem == "" && strings.TrimSpace(s) == "" {
			problem = "must not be empty"
		}
		return s, problem
	case kindStrings, kindChannels:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, "must be an array of strings"
		}
		if len(items) > MaxListLen {
			return nil, fmt.Sprintf("must have at most %d items", MaxListLen)
		}
		list := make([]string, 0, len(items))
		for i, item := range items {
			s, problem := decodeString(item, MaxStringLen)
			if problem != "" {
				return nil, fmt.Sprintf("item %d %s", i, problem)
			}
			if kind == kindChannels && !slices.Contains(Channels, s) {
				return nil, fmt.Sprintf("item %d must be one of %s", i, strings.Join(Channels, ", "))
			}
			list = append(list, s)
		}
		return list, ""
	case kindCount:
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&n); err != nil {
			return nil, "must be a whole number"
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			return nil, "must be a whole number"
		}
		if i < 0 || i > MaxCodesNumber {
			return nil, fmt.Sprintf("must be between 0 and %d", MaxCodesNumber)
		}
		return int(i), ""
	}
	return nil, "unsupported"
}

func decodeString(raw json.RawMessage, maxLen int) (string, string) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", "must be a string"
	}
	if utf8.RuneCountInString(s) > maxLen {
		return "", fmt.Sprintf("must be at most %d characters", maxLen)
	}
	return s, ""
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

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// input is the request as the rules read it: {"symptom": …, "facts": {…}},
// built directly as an OPA value so that no JSON round trip is needed.
func (r Request) input() ast.Value {
	facts := ast.NewObject()
	for name, v := range r.Facts {
		var term *ast.Term
		switch v := v.(type) {
		case bool:
			term = ast.BooleanTerm(v)
		case int:
			term = ast.IntNumberTerm(v)
		case string:
			term = ast.StringTerm(v)
		case []string:
			items := make([]*ast.Term, len(v))
			for i, s := range v {
				items[i] = ast.StringTerm(s)
			}
			term = ast.ArrayTerm(items...)
		default:
			continue
		}
		facts.Insert(ast.StringTerm(name), term)
	}
	in := ast.NewObject(ast.Item(ast.StringTerm("facts"), ast.NewTerm(facts)))
	if r.Symptom != "" {
		in.Insert(ast.StringTerm("symptom"), ast.StringTerm(r.Symptom))
	}
	return in
}

type sample struct {
	name string
	req  Request
}

// sampleRequests are the requests every source must answer within the
// deadline before it is served: nothing known, and everything known.
func sampleRequests() []sample {
	return []sample{
		{"no facts", Request{Facts: map[string]any{}}},
		{"all facts", Request{Facts: map[string]any{
			"identifier":            "ana@example.com",
			"registered_emails":     []string{"Ana@Example.com"},
			"registered_phones":     []string{"+34 600 111 222"},
			"identifier_registered": true,
			"opted_out":             false,
			"channels_tried":        []string{"email"},
			"spam_checked":          false,
			"online":                true,
			"incognito":             true,
			"cookies_autodelete":    false,
			"new_device":            true,
			"message_published":     true,
			"vpn":                   false,
			"codes_requested":       3,
			"used_latest_code":      false,
		}}},
	}
}
