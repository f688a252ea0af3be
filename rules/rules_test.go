package rules

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"acceso/knowledge"
	"acceso/locales"
)

// build returns the embedded policy, built once per test binary.
var build = sync.OnceValues(func() (*Policy, error) {
	return Build(context.Background(), Embedded(), Options{})
})

func policy(t testing.TB) *Policy {
	t.Helper()
	p, err := build()
	if err != nil {
		t.Fatalf("Build(embedded) = %v", err)
	}
	return p
}

func decide(t *testing.T, p *Policy, body string) knowledge.Decision {
	t.Helper()
	d, err := p.Evaluate(context.Background(), request(t, body))
	if err != nil {
		t.Fatalf("Evaluate(%s) = %v", body, err)
	}
	return d
}

// request reads a request body the way the API's decoder would for valid
// input (parseRequest), without its checks: the decoder is package
// answer's, and is tested there.
func request(t *testing.T, body string) knowledge.Request {
	t.Helper()
	req, err := parseRequest(body)
	if err != nil {
		t.Fatalf("request(%s): %v", body, err)
	}
	return req
}

func findingIDs(d knowledge.Decision) []string {
	ids := make([]string, len(d.Findings))
	for i, f := range d.Findings {
		ids[i] = f.ID
	}
	return ids
}

// TestEveryCauseFiresAndIsRuledOut walks SPEC's cause table: each row once
// with facts that make it likely and once with facts that rule it out, and
// checks that a finding has its title and advice in both languages.
func TestEveryCauseFiresAndIsRuledOut(t *testing.T) {
	p := policy(t)
	tests := []struct {
		cause, symptom, fires, rulesOut string
	}{
		{"identifier_not_registered", "code_not_received",
			`{"identifier":"ana@example.com","registered_emails":["otra@example.com"]}`,
			`{"identifier":" ANA@example.com","registered_emails":["ana@example.com"]}`},
		{"contact_opted_out", "code_not_received", `{"opted_out":true}`, `{"opted_out":false}`},
		{"try_other_channel", "code_not_received", `{"channels_tried":["sms"]}`, `{"channels_tried":["sms","email"]}`},
		{"check_spam", "code_not_received", `{"channels_tried":["email"],"spam_checked":false}`, `{"channels_tried":["sms"]}`},
		{"no_connection", "code_not_received", `{"online":false}`, `{"online":true}`},
		{"incognito_mode", "code_needed_often", `{"incognito":true}`, `{"incognito":false}`},
		{"cookies_deleted", "code_needed_often", `{"cookies_autodelete":true}`, `{"cookies_autodelete":false}`},
		{"new_device", "code_needed_often", `{"new_device":true}`, `{"new_device":false}`},
		{"message_not_published", "code_not_accepted", `{"message_published":false}`, `{"message_published":true}`},
		{"vpn_in_use", "code_not_accepted", `{"vpn":true}`, `{"vpn":false}`},
		{"old_code", "code_not_accepted", `{"used_latest_code":false}`, `{"codes_requested":1}`},
	}
	if len(tests) != len(p.Catalog.Causes) {
		t.Errorf("the table covers %d causes; the rules declare %d", len(tests), len(p.Catalog.Causes))
	}
	for _, tc := range tests {
		t.Run(tc.cause+"/fires", func(t *testing.T) {
			d := decide(t, p, `{"symptom":"`+tc.symptom+`","facts":`+tc.fires+`}`)
			if !slices.Contains(findingIDs(d), tc.cause) {
				t.Fatalf("Evaluate(%s) findings = %v; want %s among them", tc.fires, findingIDs(d), tc.cause)
			}
			if d.Outcome != knowledge.OutcomeCausesFound {
				t.Errorf("Evaluate(%s) outcome = %s; want %s", tc.fires, d.Outcome, knowledge.OutcomeCausesFound)
			}
			for _, lang := range locales.Languages {
				for _, id := range []string{locales.CauseTitle(tc.cause), locales.CauseAdvice(tc.cause)} {
					if s, ok := p.Texts.Text(lang, id); !ok || strings.TrimSpace(s) == "" {
						t.Errorf("Text(%s, %s) = %q, %v; want a text", lang, id, s, ok)
					}
				}
			}
			es, _ := p.Texts.Text("es", locales.CauseAdvice(tc.cause))
			en, _ := p.Texts.Text("en", locales.CauseAdvice(tc.cause))
			if es == en {
				t.Errorf("advice of %s is the same in es and en: %q", tc.cause, es)
			}
		})
		t.Run(tc.cause+"/ruled_out", func(t *testing.T) {
			d := decide(t, p, `{"symptom":"`+tc.symptom+`","facts":`+tc.rulesOut+`}`)
			if !slices.Contains(d.RuledOut, tc.cause) {
				t.Errorf("Evaluate(%s) ruled_out = %v; want %s among them", tc.rulesOut, d.RuledOut, tc.cause)
			}
			if slices.Contains(findingIDs(d), tc.cause) {
				t.Errorf("Evaluate(%s) findings = %v; want no %s", tc.rulesOut, findingIDs(d), tc.cause)
			}
		})
	}
}

// TestDiagnoseExample is the example: email tried, spam not
// checked, English.
func TestDiagnoseExample(t *testing.T) {
	p := policy(t)
	d := decide(t, p, `{"symptom":"code_not_received","facts":{"channels_tried":["email"],"spam_checked":false}}`)
	if got, want := findingIDs(d), []string{"try_other_channel", "check_spam"}; !slices.Equal(got, want) {
		t.Errorf("findings = %v; want %v", got, want)
	}
	var facts []string
	for _, q := range d.Questions {
		facts = append(facts, q.Fact)
	}
	// Contact first: online, then what only an admin can check.
	if want := []string{"online", "identifier_registered", "opted_out"}; !slices.Equal(facts, want) {
		t.Errorf("questions = %v; want %v", facts, want)
	}
	if d.Revision != p.Revision || d.Revision == "" {
		t.Errorf("revision = %q; want %q", d.Revision, p.Revision)
	}
}

func TestOutcomes(t *testing.T) {
	p := policy(t)
	tests := []struct {
		name, body, outcome string
	}{
		{"nothing known", `{"facts":{}}`, knowledge.OutcomeNeedsAnswers},
		{"no facts field", `{}`, knowledge.OutcomeNeedsAnswers},
		{"null facts are unknown", `{"facts":{"vpn":null,"online":null}}`, knowledge.OutcomeNeedsAnswers},
		{"a cause", `{"facts":{"vpn":true}}`, knowledge.OutcomeCausesFound},
		{"everything answered, nothing likely", `{"symptom":"code_needed_often","facts":{"incognito":false,"cookies_autodelete":false,"new_device":false}}`, knowledge.OutcomeNoKnownCause},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := decide(t, p, tc.body); d.Outcome != tc.outcome {
				t.Errorf("Evaluate(%s) outcome = %s; want %s", tc.body, d.Outcome, tc.outcome)
			}
		})
	}
}

func TestCatalogFromMetadata(t *testing.T) {
	p := policy(t)
	c := p.Catalog
	if want := []string{"code_not_received", "code_needed_often", "code_not_accepted"}; !slices.Equal(c.Symptoms, want) {
		t.Errorf("Symptoms = %v; want %v", c.Symptoms, want)
	}
	for i, cause := range c.Causes {
		if i > 0 && cause.File == c.Causes[i-1].File && cause.Line <= c.Causes[i-1].Line {
			t.Errorf("cause %s (line %d) comes after %s (line %d); want the article order to be the file's", cause.ID, cause.Line, c.Causes[i-1].ID, c.Causes[i-1].Line)
		}
		if !strings.HasSuffix(cause.File, "causes.rego") || cause.Line == 0 {
			t.Errorf("cause %s located at %s:%d; want its rule in causes.rego", cause.ID, cause.File, cause.Line)
		}
		if cause.Title == "" || cause.Description == "" {
			t.Errorf("cause %s has no title or description in its metadata", cause.ID)
		}
	}
	var asked []string
	for _, f := range c.Facts {
		if f.Asked() {
			asked = append(asked, f.Name)
		}
	}
	// SPEC part 2: the contact's facts in article order, then the admin's.
	want := []string{"channels_tried", "spam_checked", "online", "incognito", "cookies_autodelete", "new_device", "vpn",
		"used_latest_code", "identifier_registered", "opted_out", "message_published"}
	if !slices.Equal(asked, want) {
		t.Errorf("asked facts = %v; want %v", asked, want)
	}
	if f, _ := c.Fact("channels_tried"); f.Type != knowledge.TypeChoices || !slices.Equal(f.Choices, []string{"email", "sms"}) {
		t.Errorf("Fact(channels_tried) = %+v; want choices email, sms", f)
	}
	for _, name := range []string{"identifier", "registered_emails", "registered_phones"} {
		if f, _ := c.Fact(name); !f.Personal || f.Asked() {
			t.Errorf("Fact(%s) = %+v; want personal and never asked", name, f)
		}
	}
}

// TestBuildRefuses shows that a source with a problem is refused with the
// file and line at fault, whatever the problem is.
func TestBuildRefuses(t *testing.T) {
	const causesFile = "rules/login/causes.rego"
	const decisionFile = "rules/login/decision.rego"
	const personalCause = `
# METADATA
# title: Another domain
# description: The contact logs in with an address of another domain.
default cause.code_not_received.other_domain := "open"

cause.code_not_received.other_domain := "likely" if {
	input.facts.online == true
	_other_domain
}

_other_domain if endswith(input.facts.identifier, "@other.example")
`
	newCause := `
# METADATA
# title: Browser too old
# description: The browser is too old.
default cause.code_not_accepted.old_browser := "open"

cause.code_not_accepted.old_browser := "likely" if input.facts.vpn == true
`
	tests := []struct {
		name     string
		edit     func(knowledge.Source)
		file     string
		line     int // 0: any line
		contains string
	}{
		{"syntax error", func(s knowledge.Source) { s.Modules[causesFile] += "\nverdicts contains if {\n" }, causesFile, 0, "unexpected"},
		{"missing English texts", func(s knowledge.Source) {
			s.Modules[causesFile] += newCause
			s.Messages["active.es.toml"] = append(s.Messages["active.es.toml"], "\n[CauseOldBrowserTitle]\nother = \"Navegador antiguo\"\n[CauseOldBrowserAdvice]\nother = \"Actualiza el navegador.\"\n"...)
		}, causesFile, lineOf(Embedded().Modules[causesFile]+newCause, "default cause.code_not_accepted.old_browser"), "has no en text: add CauseOldBrowserTitle"},
		{"a verdict without a declaration", func(s knowledge.Source) {
			s.Modules[causesFile] += "\ncause.code_not_accepted.undeclared := \"likely\" if input.facts.vpn\n"
		}, causesFile, lineOf(Embedded().Modules[causesFile]+"\ncause.code_not_accepted.undeclared", "cause.code_not_accepted.undeclared"), "has no declaration"},
		{"a rule reading an undeclared fact", func(s knowledge.Source) {
			s.Modules[causesFile] = strings.Replace(s.Modules[causesFile], "input.facts.vpn == true", "input.facts.vpm == true", 1)
		}, causesFile, lineOf(strings.Replace(Embedded().Modules[causesFile], "input.facts.vpn == true", "input.facts.vpm == true", 1), "input.facts.vpm == true"), "undefined ref: input.facts.vpm (no fact vpm is declared"},
		{"a cause of an unknown symptom", func(s knowledge.Source) {
			s.Modules[causesFile] += strings.Replace(newCause, "code_not_accepted", "cannot_log_in", 1)
		}, causesFile, 0, `unknown symptom "cannot_log_in"`},
		{"failing test", func(s knowledge.Source) {
			s.Modules["rules/login/extra_test.rego"] = "package login_test\n\nimport data.login\n\ntest_vpn_is_never_a_cause if {\n\tcount(login.findings) == 0 with input as {\"facts\": {\"vpn\": true}}\n}\n"
		}, "rules/login/extra_test.rego", 5, "test_vpn_is_never_a_cause: failed"},
		{"a failing test shows the values it compared", func(s knowledge.Source) {
			s.Modules["rules/login/extra_test.rego"] = "package login_test\n\nimport data.login\n\ntest_vpn_is_never_a_cause if {\n\tf := login.findings with input as {\"facts\": {\"vpn\": true}}\n\tf == set()\n}\n"
		}, "rules/login/extra_test.rego", 5, "extra_test.rego:7: the failing expression and its values:\n\tf == set()\n\t|\n\t{\"vpn_in_use\"}"},
		// A cached answer must not pass from one contact to another: with
		// these, ana@allowed.example was given bea@other.example's finding.
		{"a cause's helper reading a personal fact", func(s knowledge.Source) {
			s.Modules[causesFile] += personalCause
		}, causesFile, lineOf(Embedded().Modules[causesFile]+personalCause, `_other_domain if endswith(input.facts.identifier`), "rule _other_domain reads the personal fact identifier: only the derivation (derived) may read personal facts"},
		{"a cause reading a personal fact through a helper", func(s knowledge.Source) {
			s.Modules[causesFile] += personalCause
		}, causesFile, lineOf(Embedded().Modules[causesFile]+personalCause, `cause.code_not_received.other_domain := "likely"`), "rule cause.code_not_received.other_domain reads the personal fact identifier (at " + causesFile + ":"},
		{"a scope changing on a personal fact", func(s knowledge.Source) {
			s.Modules[decisionFile] = strings.Replace(s.Modules[decisionFile], "scope := [input.symptom] if {\n\tinput.symptom\n", "scope := [input.symptom] if {\n\tinput.symptom\n\tnot endswith(input.facts.identifier, \"@evil.test\")\n", 1)
		}, decisionFile, lineOf(Embedded().Modules[decisionFile], "scope := [input.symptom] if {") + 2, "rule scope reads the personal fact identifier"},
		{"a cause reading facts it does not name", func(s knowledge.Source) {
			s.Modules[causesFile] += strings.Replace(personalCause, "_other_domain if endswith(input.facts.identifier, \"@other.example\")", "_other_domain if {\n\tsome k, v in input.facts\n\tk != \"vpn\"\n\tv == \"x\"\n}", 1)
		}, causesFile, 0, "rule _other_domain reads input.facts[_], which names no fact"},
		{"facts listed by hand", func(s knowledge.Source) {
			s.Modules[causesFile] = strings.Replace(s.Modules[causesFile], "# title: A VPN is in use\n", "# title: A VPN is in use\n# custom:\n#   facts: [vpn]\n", 1)
		}, causesFile, lineOf(Embedded().Modules[causesFile], "default cause.code_not_accepted.vpn_in_use") + 2, "custom.facts is no longer read"},
		{"a cause that reads no fact", func(s knowledge.Source) {
			s.Modules[causesFile] += strings.Replace(newCause, "if input.facts.vpn == true", "if true", 1)
		}, causesFile, 0, "reads no fact"},
		{"a cause after an unknown cause", func(s knowledge.Source) {
			s.Modules[causesFile] = strings.Replace(s.Modules[causesFile], "# title: A VPN is in use\n", "# title: A VPN is in use\n# custom:\n#   after: check_spamm\n", 1)
		}, causesFile, lineOf(Embedded().Modules[causesFile], "default cause.code_not_accepted.vpn_in_use") + 2, `custom.after names "check_spamm"`},
		{"a fact with an order", func(s knowledge.Source) {
			s.Modules["rules/login/facts.rego"] = strings.Replace(s.Modules["rules/login/facts.rego"], `"vpn": {`, `"vpn": {"order": 4.5,`, 1)
		}, "rules/login/facts.rego", lineOf(Embedded().Modules["rules/login/facts.rego"], `"vpn": {`), "facts.vpn: order is no longer read"},
		{"broken message file", func(s knowledge.Source) { s.Messages["active.en.toml"] = []byte("[Oops\n") }, "locales", 0, "active.en.toml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := Embedded().Clone()
			tc.edit(src)
			p, err := Build(context.Background(), src, Options{})
			if err == nil {
				t.Fatalf("Build = %v, nil; want an error", p)
			}
			problems, ok := knowledge.AsProblems(err)
			if !ok {
				t.Fatalf("Build error %v is not Problems", err)
			}
			i := slices.IndexFunc(problems, func(p knowledge.Problem) bool { return strings.Contains(p.String(), tc.contains) })
			if i < 0 {
				t.Fatalf("Build problems = %v; want one containing %q", problems, tc.contains)
			}
			got := problems[i]
			if got.File != tc.file || (tc.line != 0 && got.Line != tc.line) {
				t.Errorf("problem at %s:%d; want %s:%d (%s)", got.File, got.Line, tc.file, tc.line, got)
			}
			if tc.file != "locales" && got.Line == 0 {
				t.Errorf("problem %s has no line", got)
			}
		})
	}
}

// lineOf returns the 1-based line of the last occurrence of needle in text.
func lineOf(text, needle string) int {
	return strings.Count(text[:strings.LastIndex(text, needle)], "\n") + 1
}

func TestBuildAcceptsANewCause(t *testing.T) {
	src := Embedded().Clone()
	src.Modules["rules/login/causes.rego"] += `
# METADATA
# title: Browser too old
# description: The browser is too old to keep cookies.
default cause.code_needed_often.old_browser := "open"

cause.code_needed_often.old_browser := "likely" if input.facts.codes_requested >= 10
`
	for lang, text := range map[string]string{"es": "Navegador antiguo", "en": "Old browser"} {
		name := locales.FileName(lang)
		src.Messages[name] = append(src.Messages[name], "\n[CauseOldBrowserTitle]\ndescription = \"t\"\nother = \""+text+"\"\n[CauseOldBrowserAdvice]\ndescription = \"a\"\nother = \""+text+".\"\n"...)
	}
	withSection(src, "old_browser")
	p, err := Build(context.Background(), src, Options{})
	if err != nil {
		t.Fatalf("Build(new cause) = %v", err)
	}
	if p.Revision == Embedded().Revision() {
		t.Errorf("a changed source kept revision %s", p.Revision)
	}
	d := decide(t, p, `{"symptom":"code_needed_often","facts":{"new_device":true,"codes_requested":12}}`)
	if want := []string{"new_device", "old_browser"}; !slices.Equal(findingIDs(d), want) {
		t.Errorf("findings = %v; want %v", findingIDs(d), want)
	}
}

func TestEvaluateDeadline(t *testing.T) {
	p := policy(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Evaluate(ctx, knowledge.Request{Facts: map[string]any{}})
	if !errors.Is(err, ErrEvaluation) {
		t.Errorf("Evaluate(cancelled context) = %v; want ErrEvaluation", err)
	}
}

// TestDeadlineStopsRunawayRules shows that a rule still running at the
// deadline is stopped there, in a cause's verdict (the decision query) and
// in the derivation (the cache's derived query): OPA asks the context
// between its steps (ctxCancel).
func TestDeadlineStopsRunawayRules(t *testing.T) {
	// A body that never holds, after a count of a billion numbers.
	const runaway = "count([n | some n in numbers.range(1, 1000000000)]) == -1"
	tests := []struct {
		name, module, body string
	}{
		{"a cause's verdict", `cause.code_not_received.check_spam := "likely" if ` + runaway, `{"symptom":"code_not_received","facts":{"online":true}}`},
		{"the derivation", `_derivable if ` + runaway, `{"facts":{"identifier":"ana@example.com"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := Embedded().Clone()
			src.Modules["rules/login/runaway.rego"] = "package login\n\n" + tc.module + "\n"
			p, err := Build(context.Background(), src, Options{Deadline: 50 * time.Millisecond, SkipTests: true, SkipSamples: true})
			if err != nil {
				t.Fatalf("Build = %v", err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := p.Evaluate(context.Background(), request(t, tc.body))
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrEvaluation) || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Evaluate(%s) = %v; want ErrEvaluation for the deadline", tc.body, err)
				}
			case <-time.After(time.Minute):
				t.Fatalf("Evaluate(%s) still runs a minute after its 50 ms deadline", tc.body)
			}
		})
	}
}

func TestEngineSwap(t *testing.T) {
	p := policy(t)
	e := NewEngine(p)
	other := *p
	other.Revision = "other"
	if old := e.Swap(&other); old != p {
		t.Errorf("Swap returned %p; want the previous policy %p", old, p)
	}
	if got := e.Current().Revision; got != "other" {
		t.Errorf("Current().Revision = %q; want other", got)
	}
}

func TestDeclaresCause(t *testing.T) {
	rule := "# METADATA\n# title: T\n# description: D\ndefault cause.code_not_accepted.browser_outdated := \"open\"\n"
	tests := []struct {
		name, rule, id string
		want           bool
	}{
		{"declared", rule, "browser_outdated", true},
		{"another id", rule, "browser", false},
		{"no metadata", "default cause.code_not_accepted.browser_outdated := \"open\"\n", "browser_outdated", false},
		{"a verdict only", "cause.code_not_accepted.browser_outdated := \"likely\"\n", "browser_outdated", false},
		{"id in a comment only", "# cause.code_not_accepted.browser_outdated\nx := 1\n", "browser_outdated", false},
		{"not Rego", "x := ", "browser_outdated", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DeclaresCause(tc.rule, tc.id); got != tc.want {
				t.Errorf("DeclaresCause(%q, %s) = %v; want %v", tc.rule, tc.id, got, tc.want)
			}
		})
	}
}

// TestCauseOrderByPositionAndAfter shows that a cause written at the end of
// another module takes its place in the article from custom.after, with no
// other cause moving, and that the facts each cause rests on are the ones
// its rules read.
func TestCauseOrderByPositionAndAfter(t *testing.T) {
	src := Embedded().Clone()
	src.Modules["rules/login/sms.rego"] = `package login

# METADATA
# title: SMS filtered
# description: A filter app blocks the SMS.
# custom:
#   after: check_spam
default cause.code_not_received.sms_filtered := "open"

cause.code_not_received.sms_filtered := "likely" if {
	"sms" in input.facts.channels_tried
	_blocked
}

_blocked if input.facts.online == false
`
	for _, lang := range locales.Languages {
		name := locales.FileName(lang)
		src.Messages[name] = append(src.Messages[name], "\n[CauseSmsFilteredTitle]\nother = \"SMS filtered\"\n[CauseSmsFilteredAdvice]\nother = \"Allow the SMS.\"\n"...)
	}
	withSection(src, "sms_filtered")
	before := policy(t).Catalog.Causes
	p, err := Build(context.Background(), src, Options{SkipTests: true})
	if err != nil {
		t.Fatalf("Build(cause after check_spam) = %v", err)
	}
	var got, want []string
	for _, c := range p.Catalog.Causes {
		got = append(got, c.ID)
	}
	for _, c := range before {
		want = append(want, c.ID)
		if c.ID == "check_spam" {
			want = append(want, "sms_filtered")
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("causes = %v; want %v", got, want)
	}
	c, _ := p.Catalog.Cause("sms_filtered")
	if wantFacts := []string{"channels_tried", "online"}; !slices.Equal(c.Facts, wantFacts) {
		t.Errorf("sms_filtered rests on %v; want %v (read by its rule and its helper)", c.Facts, wantFacts)
	}
}

// withSection gives cause id its section in every language of src's
// article, which src (a clone) can change.
func withSection(src knowledge.Source, id string) {
	for path, text := range src.Docs {
		src.Docs[path] = text + "\n{#" + id + "} A section.\n"
	}
}

// TestEveryCauseHasItsSection refuses a cause without its section in the
// admins' article or in the contacts' explanations, in each language,
// naming the document's file and the cause's file:line; and a missing
// document, naming the file to add.
func TestEveryCauseHasItsSection(t *testing.T) {
	for _, doc := range []document{articleDoc, helpDoc} {
		for _, lang := range locales.Languages {
			name := "rules/login/" + doc.file(lang)
			t.Run(name, func(t *testing.T) {
				src := Embedded().Clone()
				if !strings.Contains(src.Docs[name], "{#check_spam}") {
					t.Fatalf("%s has no {#check_spam}", name)
				}
				src.Docs[name] = strings.Replace(src.Docs[name], "{#check_spam}", "", 1)
				_, err := Build(context.Background(), src, Options{SkipTests: true})
				ps, _ := knowledge.AsProblems(err)
				if len(ps) != 1 || ps[0].File != name || !strings.Contains(ps[0].Message, "cause check_spam (rules/login/causes.rego:") || !strings.Contains(ps[0].Message, doc.what) {
					t.Errorf("Build(no check_spam section in %s) = %v; want one problem in that file naming check_spam at its file:line and %s", name, err, doc.what)
				}

				delete(src.Docs, name)
				_, err = Build(context.Background(), src, Options{SkipTests: true})
				ps, _ = knowledge.AsProblems(err)
				if len(ps) != 1 || ps[0].File != name || !strings.Contains(ps[0].Message, "add "+doc.file(lang)) {
					t.Errorf("Build(without %s) = %v; want one problem saying to add %s", name, err, doc.file(lang))
				}
			})
		}
	}
}
