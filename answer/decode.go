package answer

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

	"acceso/rules"
)

// MaxLangLen bounds a request's lang hint.
const MaxLangLen = 35

// Decode reads a request body strictly against the facts cat declares: it
// must be one JSON object whose fields are all known and well-typed. A body
// that is not strict JSON (CheckJSON) is an invalid_json error; anything else wrong is an
// invalid_facts error listing every field at fault, not just the first.
func Decode(cat rules.Catalog, body []byte) (rules.Request, error) {
	if err := CheckJSON(body); err != nil {
		return rules.Request{}, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return rules.Request{}, Invalid(FieldError{Field: "body", Problem: "must be a JSON object"})
		}
		return rules.Request{}, Errorf(CodeInvalidJSON, "the body is not valid JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	if top == nil {
		return rules.Request{}, Invalid(FieldError{Field: "body", Problem: "must be a JSON object"})
	}
	req := rules.Request{Facts: make(map[string]any)}
	var problems []FieldError
	for _, key := range slices.Sorted(maps.Keys(top)) {
		raw := top[key]
		switch key {
		case "symptom":
			s, problem := decodeString(raw, rules.MaxStringLen)
			switch {
			case problem != "":
				problems = append(problems, FieldError{"symptom", problem})
			case s != "" && !slices.Contains(cat.Symptoms, s):
				problems = append(problems, FieldError{"symptom", "must be one of " + strings.Join(cat.Symptoms, ", ")})
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
			problems = append(problems, decodeFacts(cat, raw, req.Facts)...)
		default:
			problems = append(problems, FieldError{fieldName(key), "unknown field"})
		}
	}
	if len(problems) > 0 {
		return rules.Request{}, Invalid(problems...)
	}
	return req, nil
}

func decodeFacts(cat rules.Catalog, raw json.RawMessage, into map[string]any) []FieldError {
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
		fact, known := cat.Fact(name)
		if !known {
			problems = append(problems, FieldError{field, "unknown fact"})
			continue
		}
		v := facts[name]
		if isNull(v) {
			continue // null is an explicit unknown
		}
		value, problem := decodeFact(fact, v)
		if problem != "" {
			problems = append(problems, FieldError{field, problem})
			continue
		}
		into[name] = value
	}
	return problems
}

func decodeFact(fact rules.Fact, raw json.RawMessage) (any, string) {
	switch fact.Type {
	case rules.TypeBoolean:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, "must be a boolean"
		}
		return b, ""
	case rules.TypeString:
		s, problem := decodeString(raw, rules.MaxStringLen)
		if problem == "" && strings.TrimSpace(s) == "" {
			problem = "must not be empty"
		}
		return s, problem
	case rules.TypeStrings, rules.TypeChoices:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, "must be an array of strings"
		}
		if len(items) > rules.MaxListLen {
			return nil, fmt.Sprintf("must have at most %d items", rules.MaxListLen)
		}
		list := make([]string, 0, len(items))
		for i, item := range items {
			s, problem := decodeString(item, rules.MaxStringLen)
			if problem != "" {
				return nil, fmt.Sprintf("item %d %s", i, problem)
			}
			if fact.Type == rules.TypeChoices && !slices.Contains(fact.Choices, s) {
				return nil, fmt.Sprintf("item %d must be one of %s", i, strings.Join(fact.Choices, ", "))
			}
			list = append(list, s)
		}
		return list, ""
	case rules.TypeCount:
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
		if i < 0 || i > rules.MaxCount {
			return nil, fmt.Sprintf("must be between 0 and %d", rules.MaxCount)
		}
		return int(i), ""
	}
	return nil, "has a type the engine does not know"
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
