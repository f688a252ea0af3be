// Package interop is what the tests and the load test that set Acceso
// beside OPA share: the request mix they send, and what Acceso's API answers
// and OPA decides on the same rules, in one comparable form.
package interop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"acceso/answer"
)

// Comparable is a decision (knowledge.Decision) in ids only, in a
// canonical order, to set Acceso beside OPA: what the rules decide,
// without the texts Acceso adds and without the facts each finding rests
// on (its because), which Acceso reads from the rule itself rather than the
// rules giving them. Two equal ones are reflect.DeepEqual and print alike.
type Comparable struct {
	Outcome   string
	Symptoms  []string
	Findings  []string // cause ids
	RuledOut  []string
	Questions []string // facts
}

// FromAPI reads an answer of POST /api/v1/evaluate.
func FromAPI(body []byte) (Comparable, error) {
	var a answer.Response
	if err := json.Unmarshal(body, &a); err != nil {
		return Comparable{}, err
	}
	var findings []string
	for _, f := range a.Findings {
		findings = append(findings, f.ID)
	}
	d := Comparable{Outcome: a.Outcome, Symptoms: sorted(a.Symptoms), Findings: sorted(findings), RuledOut: sorted(a.RuledOut)}
	for _, q := range a.Questions {
		d.Questions = append(d.Questions, q.Fact)
	}
	slices.Sort(d.Questions)
	return d, nil
}

// DecisionQuery is the query of a topic's decision, as stock OPA evaluates
// it (opa eval): data.<topic>.decision. Each topic is a package of its
// own, one root of the bundle.
func DecisionQuery(topic string) string { return "data." + topic + ".decision" }

// DecisionPath is where OPA's REST API answers a topic's decision:
// /v1/data/<topic>/decision.
func DecisionPath(topic string) string { return "/v1/data/" + topic + "/decision" }

// FromOPA reads a topic's decision document (data.<topic>.decision).
func FromOPA(doc []byte) (Comparable, error) {
	var o struct {
		Outcome   string   `json:"outcome"`
		Symptoms  []string `json:"symptoms"`
		Findings  []string `json:"findings"`
		RuledOut  []string `json:"ruled_out"`
		Questions []string `json:"questions"`
	}
	if err := json.Unmarshal(doc, &o); err != nil {
		return Comparable{}, err
	}
	d := Comparable{Outcome: o.Outcome, Symptoms: sorted(o.Symptoms), Findings: sorted(o.Findings), RuledOut: sorted(o.RuledOut), Questions: sorted(o.Questions)}
	return d, nil
}

// FromOPAServer reads what OPA's REST API answers for
// POST /v1/data/<topic>/decision (DecisionPath): the document under
// "result".
func FromOPAServer(body []byte) (Comparable, error) {
	var r struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return Comparable{}, err
	}
	if r.Result == nil {
		return Comparable{}, errors.New("no result: is the topic's decision (data.<topic>.decision) defined?")
	}
	return FromOPA(r.Result)
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// ReadMix reads a request mix: one API request body a line, blank lines
// skipped (the shared one is ../shared/bench/mix.jsonl).
func ReadMix(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("the mix: %w", err)
	}
	defer f.Close()
	var mix [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			mix = append(mix, bytes.Clone(line))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(mix) == 0 {
		return nil, fmt.Errorf("the mix %s is empty", path)
	}
	return mix, nil
}
