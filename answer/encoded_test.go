package answer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/rules"
)

// TestEncodedAnswers: an answer asked for as JSON (Ask.JSON, the API's
// evaluate) is the same answer as one worded afresh, and its bytes are
// those encoding/json's Encoder writes for its Response, both the first
// time a decision is answered in a language and when it is answered again
// from the worded copy (with its own decision id and reference), for
// every request of the shared mix in both languages, and for a reference
// that encoding/json escapes; the second time into one buffer reused for
// every answer (Ask.JSONBuf).
func TestEncodedAnswers(t *testing.T) {
	var mix [][]byte
	for _, b := range readLines(t, unchangedFile) {
		var l answerLine
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("%s: %v", unchangedFile, err)
		}
		if l.Body != nil {
			mix = append(mix, l.Body)
		}
	}
	ctx := context.Background()
	p, err := rules.Build(ctx, rules.Embedded(), rules.Options{Deadline: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	encoded := answer.Service{Engine: rules.NewEngine(p),
		Keep: func(_ string, _ *rules.Policy, _ knowledge.Request, r *answer.Response) error {
			n++
			r.Reference = fmt.Sprintf("REF-%d", n)
			if n%7 == 0 {
				r.Reference = fmt.Sprintf("<&%d\u2028é>", n) // escaped by encoding/json
			}
			return nil
		}}
	plain := answer.Service{Engine: rules.NewEngine(p)}
	seen := make(map[string]bool)
	ids := make(map[string]bool)
	shared := make([]byte, 0, 64<<10)
	for round := range 2 {
		for _, lang := range []string{"es", "en"} {
			for _, body := range mix {
				// The second round encodes every answer into one buffer
				// (Ask.JSONBuf), as the API's evaluate does with its pool.
				var into []byte
				if round == 1 {
					into = shared
				}
				res, err := encoded.Answer(ctx, answer.Ask{Source: "api", Body: body, Keep: true, JSON: true, JSONBuf: into, Langs: []string{lang}})
				if err == nil && round == 1 && cap(res.JSON) != cap(shared) {
					t.Errorf("Answer(%s) with JSONBuf: JSON in a new array of %d bytes; want the buffer's %d", body, cap(res.JSON), cap(shared))
				}
				want, werr := plain.Answer(ctx, answer.Ask{Source: "api", Body: body, Langs: []string{lang}})
				if (err != nil) != (werr != nil) {
					t.Fatalf("Answer(%s) as JSON = %v; worded afresh %v", body, err, werr)
				}
				if err != nil {
					continue
				}
				if g, w := stable(t, res.Response), stable(t, want.Response); !bytes.Equal(g, w) {
					t.Errorf("Answer(%s) as JSON, round %d = %s; want %s", body, round, g, w)
				}
				var buf bytes.Buffer
				if err := json.NewEncoder(&buf).Encode(res.Response); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(res.JSON, buf.Bytes()) {
					t.Errorf("Answer(%s).JSON, round %d =\n %s; want\n %s", body, round, res.JSON, buf.Bytes())
				}
				if ids[res.Response.DecisionID] {
					t.Errorf("Answer(%s).DecisionID = %s, given before", body, res.Response.DecisionID)
				}
				ids[res.Response.DecisionID] = true
				seen[res.Response.Reference] = true
			}
		}
	}
	if len(ids) < 2*2*len(mix)-50 || !seen["<&7\u2028é>"] {
		t.Errorf("%d answers with their own ids, escaped reference seen %v; want about %d and true", len(ids), seen["<&7\u2028é>"], 4*len(mix))
	}
}
