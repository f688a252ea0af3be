package answer

import (
	"context"
	"errors"
	"testing"
	"time"

	"acceso/knowledge"
	"acceso/rules"
)

// recorder is a Service whose hooks record what they were asked.
type recorder struct {
	acquired, released, kept, decided, failed int
	sources                                   []string
	refuse                                    error
}

func (r *recorder) service(p *rules.Policy) *Service {
	return &Service{
		Engine: rules.NewEngine(p),
		Acquire: func(ctx context.Context) (func(), error) {
			if r.refuse != nil {
				return nil, r.refuse
			}
			r.acquired++
			return func() { r.released++ }, nil
		},
		Keep: func(source string, _ *rules.Policy, _ knowledge.Request, resp *Response) error {
			r.kept++
			resp.Reference = "KEPT-KEPT"
			return nil
		},
		Decided: func(_ context.Context, source string, _ Response, _ time.Duration) {
			r.decided++
			r.sources = append(r.sources, source)
		},
		Failed: func(context.Context, string, *rules.Policy, error, time.Duration) { r.failed++ },
	}
}

func TestServiceAnswer(t *testing.T) {
	p := policy(t)
	body := []byte(`{"symptom":"code_not_received","lang":"en","facts":{"channels_tried":["email"],"spam_checked":false}}`)
	tests := []struct {
		name          string
		ask           Ask
		wantKept      int
		wantReference string // "" any fresh one
	}{
		{"kept", Ask{Source: "api", Body: body, Keep: true}, 1, "KEPT-KEPT"},
		{"not kept", Ask{Source: "lookup", Body: body}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			res, err := r.service(p).Answer(context.Background(), tc.ask)
			if err != nil {
				t.Fatalf("Answer(%s) = %v", tc.ask.Body, err)
			}
			if r.acquired != 1 || r.released != 1 || r.decided != 1 || r.kept != tc.wantKept || r.sources[0] != tc.ask.Source {
				t.Errorf("Answer(%s): slots %d taken %d given back, %d decided (%v), %d kept; want 1, 1, 1 (%s), %d",
					tc.ask.Source, r.acquired, r.released, r.decided, r.sources, r.kept, tc.ask.Source, tc.wantKept)
			}
			ref := res.Response.Reference
			if _, ok := knowledge.NormalizeReference(ref); !ok || (tc.wantReference != "" && ref != tc.wantReference) {
				t.Errorf("Answer(%s).Reference = %q; want %q or a fresh one", tc.ask.Source, ref, tc.wantReference)
			}
			if res.Response.Lang != "en" || len(res.Response.Findings) == 0 {
				t.Errorf("Answer(%s) = lang %q, findings %v; want en and some", tc.ask.Source, res.Response.Lang, res.Response.Findings)
			}
		})
	}
}

func TestServiceRefusesBeforeTheSlot(t *testing.T) {
	p := policy(t)
	var r recorder
	if _, err := r.service(p).Answer(context.Background(), Ask{Source: "api", Body: []byte(`{"facts":{"online":"no"}}`)}); As(err).Code != CodeInvalidFacts {
		t.Errorf("Answer(bad body) = %v; want %s", err, CodeInvalidFacts)
	}
	if r.acquired != 0 || r.decided != 0 || r.failed != 0 {
		t.Errorf("a bad body took %d slots, %d decided, %d failed; want none", r.acquired, r.decided, r.failed)
	}
	r.refuse = errors.New("overloaded")
	if _, err := r.service(p).Answer(context.Background(), Ask{Source: "api", Body: []byte(`{}`)}); !errors.Is(err, r.refuse) {
		t.Errorf("Answer with no slot = %v; want the slot's error", err)
	}
}

func TestServiceCallerGone(t *testing.T) {
	p := policy(t)
	var r recorder
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.service(p).Answer(ctx, Ask{Source: "api", Body: []byte(`{}`)})
	if !errors.Is(err, ErrGone) {
		t.Errorf("Answer(caller gone) = %v; want ErrGone", err)
	}
	if r.failed != 0 || r.decided != 0 {
		t.Errorf("a caller gone counted %d failed, %d decided; want none", r.failed, r.decided)
	}
}

func TestServiceWithoutServer(t *testing.T) {
	// The command line's service: no hooks at all.
	s := &Service{Engine: rules.NewEngine(policy(t))}
	a, err := s.Answer(context.Background(), Ask{Source: "cli", Body: []byte(`{"lang":"es"}`)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Answer(context.Background(), Ask{Source: "cli", Body: []byte(`{"lang":"es"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := knowledge.NormalizeReference(a.Response.Reference); !ok || a.Response.Reference == b.Response.Reference {
		t.Errorf("references %q, %q; want two fresh ones", a.Response.Reference, b.Response.Reference)
	}
}
