package locales

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/BurntSushi/toml"
)

// Message is one message to set in a message file: its id, the description
// it gets if it is new, and its text.
type Message struct {
	ID, Description, Text string
}

// SetMessages returns a go-i18n TOML message file with each message's text
// (its "other") set: an existing message keeps its description and its
// place, a new one is added at the end with the given description. The
// file is edited as data: decoded, changed, and encoded again, each table
// with its description first and its text next; comments are not kept.
func SetMessages(file []byte, msgs ...Message) ([]byte, error) {
	tables, order, err := decodeFile(file)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		t, ok := tables[m.ID]
		if !ok {
			t = map[string]string{"description": m.Description}
			tables[m.ID] = t
			order = append(order, m.ID)
		}
		t["other"] = m.Text
	}
	return encodeFile(tables, order)
}

// decodeFile reads a message file as message id to field to text, and the
// ids in the file's order.
func decodeFile(file []byte) (map[string]map[string]string, []string, error) {
	var tables map[string]map[string]string
	md, err := toml.Decode(string(file), &tables)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the message file: %w", err)
	}
	var order []string
	for _, k := range md.Keys() {
		if len(k) == 1 {
			order = append(order, k[0])
		}
	}
	if tables == nil {
		tables = make(map[string]map[string]string)
	}
	return tables, order, nil
}

// encodeFile writes a whole message file: tables in order, each with its
// description first, its text next, then any other field by name, all
// quoted by the TOML encoder.
func encodeFile(tables map[string]map[string]string, order []string) ([]byte, error) {
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	for i, id := range order {
		t := tables[id]
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("[" + toml.Key{id}.String() + "]\n")
		fields := []string{"description", "other"}
		for _, f := range slices.Sorted(maps.Keys(t)) {
			if !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
		for _, f := range fields {
			if v, ok := t[f]; ok {
				if err := enc.Encode(map[string]string{f: v}); err != nil {
					return nil, err
				}
			}
		}
	}
	return b.Bytes(), nil
}

// CheckFile reads a message file as SetMessages does and returns what is
// wrong with it, if anything, with the line it is on (0 when the error is
// not about one line).
func CheckFile(file []byte) (line int, err error) {
	_, _, err = decodeFile(file)
	if pe, ok := errors.AsType[toml.ParseError](err); ok {
		// The parser counts an unexpected line end as on the next line;
		// the line it ends is the one to fix.
		if start := pe.Position.Start; start >= 0 && start < len(file) {
			return bytes.Count(file[:start], []byte("\n")) + 1, errors.New(pe.Message)
		}
		return pe.Position.Line, errors.New(pe.Message)
	}
	return 0, err
}
