package answer

import (
	"acceso/knowledge"
	"context"
	"errors"
	"testing"
)

// FuzzDecodeAndEvaluate feeds arbitrary bodies to the decoder and evaluates
// whatever it accepts: no input may panic, and each one either is refused
// with a field path (or as invalid JSON) or gets a well-formed decision.
func FuzzDecodeAndEvaluate(f *testing.F) {
	for _, seed := range []string{
		`{"symptom":"code_not_received","facts":{"channels_tried":["email"],"spam_checked":false}}`,
		`{"facts":{"identifier":"+34 600-111 222","registered_phones":["+34600111222"]}}`,
		`{"facts":{"identifier":"Ana@Example.com ","registered_emails":["ana@example.com"],"identifier_registered":false}}`,
		`{"lang":"en","facts":{"codes_requested":3,"used_latest_code":false}}`,
		`{"facts":{"online":"no"}}`, `[]`, `null`, `{"facts":`, ``,
	} {
		f.Add([]byte(seed))
	}
	p := policy(f)
	outcomes := map[string]bool{knowledge.OutcomeCausesFound: true, knowledge.OutcomeNeedsAnswers: true, knowledge.OutcomeNoKnownCause: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := Decode(p.Catalog, body)
		if err != nil {
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("Decode(%q) = %v; want an *Error", body, err)
			}
			if re.Code == CodeInvalidFacts && len(re.Details) == 0 {
				t.Fatalf("Decode(%q) = invalid_facts with no field", body)
			}
			for _, d := range re.Details {
				if d.Field == "" || d.Problem == "" {
					t.Fatalf("Decode(%q) detail %+v lacks a field or a problem", body, d)
				}
			}
			return
		}
		d, err := p.Evaluate(context.Background(), req)
		if err != nil {
			t.Fatalf("Evaluate(%q) = %v", body, err)
		}
		if !outcomes[d.Outcome] {
			t.Fatalf("Evaluate(%q) outcome = %q", body, d.Outcome)
		}
		if (d.Outcome == knowledge.OutcomeCausesFound) != (len(d.Findings) > 0) {
			t.Fatalf("Evaluate(%q) outcome %s with %d findings", body, d.Outcome, len(d.Findings))
		}
		if len(d.Symptoms) == 0 {
			t.Fatalf("Evaluate(%q) has no symptom in scope", body)
		}
	})
}
