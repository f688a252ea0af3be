package answer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"acceso/answer"
	"acceso/flow"
	"acceso/rules"
)

// unchangedFile holds the answers of the built-in rules as they were
// before the rules became self-contained (issue 19): written on main's tree
// at commit ff308b6 by this same file (ACCESO_WRITE_ANSWERS=path go test
// ./answer -run TestAnswersUnchanged), never rewritten on this side. A
// difference is a change of behaviour to fix, not a golden to update.
const unchangedFile = "testdata/answers-before-issue-19.jsonl"

// answerLine is one recorded answer: to a request of the mix (Body), or to
// one state of the self-diagnosis (State, in Lang) with the map's view of
// it (its next question, its outcome, what an admin must check, where its
// answers lead).
type answerLine struct {
	Body   json.RawMessage `json:"body,omitempty"`
	State  string          `json:"state,omitempty"`
	Lang   string          `json:"lang,omitempty"`
	Node   *nodeView       `json:"node,omitempty"`
	Answer json.RawMessage `json:"answer,omitempty"`
	Error  string          `json:"error,omitempty"`
}

type nodeView struct {
	Question    string   `json:"question"`
	Outcome     string   `json:"outcome"`
	Findings    []string `json:"findings"`
	AdminChecks []string `json:"admin_checks"`
	Edges       []string `json:"edges"`
}

// stable is a response without what differs on every answer or with
// every change of the rules' files: its decision id, its reference and the
// revision's hash.
func stable(t *testing.T, r answer.Response) json.RawMessage {
	t.Helper()
	r.DecisionID, r.Reference, r.PolicyRevision = "", "", ""
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// currentAnswers answers every request of the mix and every state of the
// self-diagnosis, in both languages, with the built-in rules.
func currentAnswers(t *testing.T, mix [][]byte) []answerLine {
	t.Helper()
	ctx := context.Background()
	p, err := rules.Build(ctx, rules.Embedded(), rules.Options{NoCache: true, Deadline: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	answers := answer.Service{Engine: rules.NewEngine(p)}
	var out []answerLine
	for _, body := range mix {
		l := answerLine{Body: body}
		res, err := answers.Answer(ctx, answer.Ask{Source: "test", Body: body})
		if err != nil {
			l.Error = answer.As(err).Code
		} else {
			l.Answer = stable(t, res.Response)
		}
		out = append(out, l)
	}
	m, err := flow.Explore(ctx, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tree := range m.Trees {
		for _, n := range tree.Nodes {
			v := &nodeView{Question: n.Question, Outcome: n.Outcome, Findings: n.Findings, AdminChecks: n.AdminChecks}
			for _, e := range n.Edges {
				v.Edges = append(v.Edges, tree.Nodes[e.To].Diagnosis.Path("en"))
			}
			for _, lang := range []string{"es", "en"} {
				l := answerLine{State: n.Diagnosis.Path(lang), Lang: lang, Node: v}
				r, err := answer.Evaluate(ctx, p, n.Diagnosis.Request(), lang)
				if err != nil {
					l.Error = answer.As(err).Code
				} else {
					l.Answer = stable(t, r)
				}
				out = append(out, l)
			}
		}
	}
	return out
}

func readLines(t *testing.T, name string) [][]byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestAnswersUnchanged: the built-in rules answer every request of the
// shared mix (shared/bench/mix.jsonl, 500 requests, kept in the recorded
// file), and every state of the self-diagnosis in both languages, exactly
// as they did before they became self-contained (all of the answer but its
// decision id, reference and revision hash).
func TestAnswersUnchanged(t *testing.T) {
	if out := os.Getenv("ACCESO_WRITE_ANSWERS"); out != "" {
		got := currentAnswers(t, readLines(t, os.Getenv("ACCESO_MIX")))
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, l := range got {
			if err := enc.Encode(l); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d answers to %s", len(got), out)
		return
	}
	want := readLines(t, unchangedFile)
	var mix [][]byte
	for _, b := range want {
		var l answerLine
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("%s: %v", unchangedFile, err)
		}
		if l.Body != nil {
			mix = append(mix, l.Body)
		}
	}
	if len(mix) != 500 {
		t.Fatalf("%s holds %d requests of the mix; want 500", unchangedFile, len(mix))
	}
	got := currentAnswers(t, mix)
	if len(got) != len(want) {
		t.Errorf("%d answers (mix and self-diagnosis states); want %d", len(got), len(want))
	}
	diffs := 0
	for i := range min(len(got), len(want)) {
		b, err := json.Marshal(got[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want[i]) {
			if diffs++; diffs <= 5 {
				t.Errorf("answer %d:\n got  %s\n want %s", i+1, b, want[i])
			}
		}
	}
	if diffs > 0 {
		t.Errorf("%d of %d answers differ from before", diffs, len(want))
	}
}
