package knowledge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// DecodeFacts reads facts kept as JSON (a kept decision's, as the store
// writes them) back into the types a Request holds: bool, int, string and
// []string, so that a kept decision becomes a request without another trip
// through JSON. A value of any other shape is an error naming its fact.
func DecodeFacts(b []byte) (map[string]any, error) {
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	facts := make(map[string]any, len(raw))
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		v, ok := typed(raw[name])
		if !ok {
			return nil, fmt.Errorf("fact %q: %v is not a boolean, a whole number, a string or a list of strings", name, raw[name])
		}
		facts[name] = v
	}
	return facts, nil
}

// typed is a JSON value decoded with UseNumber as a Request holds it.
func typed(v any) (any, bool) {
	switch v := v.(type) {
	case bool, string:
		return v, true
	case json.Number:
		i, err := v.Int64()
		return int(i), err == nil
	case []any:
		list := make([]string, len(v))
		for i, item := range v {
			s, ok := item.(string)
			if !ok {
				return nil, false
			}
			list[i] = s
		}
		return list, true
	}
	return nil, false
}

// Check says what is wrong with v as a value of f, as a request holds it
// (bool, int, string or []string), or "" when it fits f's type and limits.
func (f Fact) Check(v any) string {
	switch f.Type {
	case TypeBoolean:
		if _, ok := v.(bool); !ok {
			return "must be a boolean"
		}
	case TypeCount:
		i, ok := v.(int)
		if !ok {
			return "must be a whole number"
		}
		if i < 0 || i > MaxCount {
			return fmt.Sprintf("must be between 0 and %d", MaxCount)
		}
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return "must be a string"
		}
		if strings.TrimSpace(s) == "" {
			return "must not be empty"
		}
		if utf8.RuneCountInString(s) > MaxStringLen {
			return fmt.Sprintf("must be at most %d characters", MaxStringLen)
		}
	case TypeStrings, TypeChoices:
		list, ok := v.([]string)
		if !ok {
			return "must be an array of strings"
		}
		if len(list) > MaxListLen {
			return fmt.Sprintf("must have at most %d items", MaxListLen)
		}
		for i, s := range list {
			if utf8.RuneCountInString(s) > MaxStringLen {
				return fmt.Sprintf("item %d must be at most %d characters", i, MaxStringLen)
			}
			if f.Type == TypeChoices && !slices.Contains(f.Choices, s) {
				return fmt.Sprintf("item %d must be one of %s", i, strings.Join(f.Choices, ", "))
			}
		}
	default:
		return "has a type the engine does not know"
	}
	return ""
}

// RequestOf is the request c reads from a topic, a symptom and typed facts
// kept earlier (a kept decision's, perhaps with answers added), in the
// topic's catalog (the default topic's for "", as decisions kept before
// there were topics are): the topic when c has it, the symptom when the
// topic declares it, and each fact the topic declares whose value fits it
// (Fact.Check). What c cannot read (rules changed since) is left out, and
// named in left, as "topic", "symptom" or "facts.<name>", in that order.
func (c Catalog) RequestOf(topic, symptom string, facts map[string]any) (req Request, left []string) {
	req = Request{Facts: make(map[string]any, len(facts))}
	t, ok := c.TopicOf(topic, "")
	switch {
	case !ok:
		left = append(left, "topic")
	case topic != "":
		req.Topic = topic
	}
	switch {
	case symptom == "":
	case slices.Contains(t.Symptoms, symptom):
		req.Symptom = symptom
	default:
		left = append(left, "symptom")
	}
	for _, name := range slices.Sorted(maps.Keys(facts)) {
		f, ok := t.Fact(name)
		if !ok || f.Check(facts[name]) != "" {
			left = append(left, "facts."+name)
			continue
		}
		req.Facts[name] = facts[name]
	}
	return req, left
}
