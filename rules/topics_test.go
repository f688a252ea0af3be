package rules

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"acceso/knowledge"
	"acceso/locales"
)

// topicFixture is a second topic laid out as a rules folder: notifications
// that do not arrive on the phone (two symptoms, four causes, its article,
// its explanations and its texts in both languages).
const topicFixture = "testdata/topic"

// withSecondTopic writes the built-in rules to a folder as acceso rules
// init does, copies the second topic's files over it (new files only: a
// file that exists already fails the test) and reads the folder back.
func withSecondTopic(t *testing.T) knowledge.Source {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "knowledge")
	if err := Embedded().WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(topicFixture, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "README" {
			return err
		}
		rel, _ := filepath.Rel(topicFixture, path)
		to := filepath.Join(dir, rel)
		if _, err := os.Stat(to); err == nil {
			t.Errorf("%s exists already; a topic is added as new files only", rel)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	src, err := FromDir(dir)
	if err != nil {
		t.Fatalf("FromDir(with the second topic) = %v", err)
	}
	return src
}

// TestSecondTopic builds the rules with a second topic added as new files:
// both topics are found, login stays the default, each request goes to
// its topic (named, or by its symptom), and the default topic answers as
// the rules with one topic do.
func TestSecondTopic(t *testing.T) {
	ctx := context.Background()
	p, err := Build(ctx, withSecondTopic(t), Options{Deadline: time.Minute})
	if err != nil {
		t.Fatalf("Build(with the second topic) = %v", err)
	}
	one := buildWith(t, Options{})
	if got := p.Catalog.TopicNames(); !slices.Equal(got, []string{"login", "notifications"}) {
		t.Fatalf("topics = %v; want [login notifications], the default first", got)
	}
	if p.Default().Name != "login" {
		t.Errorf("default topic = %s; want login", p.Default().Name)
	}
	n, ok := p.Topic("notifications")
	if !ok {
		t.Fatal("no topic notifications")
	}
	if len(n.Catalog.Symptoms) != 2 || len(n.Catalog.Causes) != 4 {
		t.Errorf("notifications: %d symptoms, %d causes; want 2 and 4", len(n.Catalog.Symptoms), len(n.Catalog.Causes))
	}
	if len(p.Catalog.Causes) != len(one.Catalog.Causes)+4 || len(p.Catalog.Symptoms) != len(one.Catalog.Symptoms)+2 {
		t.Errorf("the union has %d causes and %d symptoms; want login's and notifications' together", len(p.Catalog.Causes), len(p.Catalog.Symptoms))
	}
	if !slices.Contains(n.Articles.Anchors("en"), "battery_saver_on") || !slices.Contains(n.Help.Anchors("es"), "app_signed_out") {
		t.Error("the notifications topic's article or explanations lack its causes' sections")
	}
	for _, lang := range locales.Languages {
		if _, ok := p.Texts.Text(lang, locales.TopicTitle("notifications")); !ok {
			t.Errorf("no %s title for the topic notifications", lang)
		}
		if _, ok := p.Texts.Text(lang, locales.TopicTitle("login")); !ok {
			t.Errorf("no %s title for the topic login", lang)
		}
	}

	tests := []struct {
		name      string
		req       knowledge.Request
		topic     string
		findings  []string
		questions []string
	}{
		{"topic named, nothing known", knowledge.Request{Topic: "notifications", Facts: map[string]any{}},
			"notifications", nil, []string{"notifications_allowed", "do_not_disturb", "battery_saver", "signed_in_app"}},
		{"only its symptom", knowledge.Request{Symptom: "notifications_late", Facts: map[string]any{"battery_saver": true}},
			"notifications", []string{"battery_saver_on"}, nil},
		{"topic and symptom", knowledge.Request{Topic: "notifications", Symptom: "notifications_missing", Facts: map[string]any{"do_not_disturb": true}},
			"notifications", []string{"do_not_disturb_on"}, []string{"notifications_allowed", "signed_in_app"}},
		{"no topic, no symptom: the default", knowledge.Request{Facts: map[string]any{"vpn": true}},
			"login", []string{"vpn_in_use"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := p.Evaluate(ctx, tc.req)
			if err != nil {
				t.Fatalf("Evaluate(%+v) = %v", tc.req, err)
			}
			if d.Topic != tc.topic {
				t.Errorf("Evaluate(%+v).Topic = %s; want %s", tc.req, d.Topic, tc.topic)
			}
			var ids []string
			for _, f := range d.Findings {
				ids = append(ids, f.ID)
			}
			if !slices.Equal(ids, tc.findings) {
				t.Errorf("Evaluate(%+v) findings = %v; want %v", tc.req, ids, tc.findings)
			}
			if tc.questions != nil {
				var qs []string
				for _, q := range d.Questions {
					qs = append(qs, q.Fact)
				}
				if !slices.Equal(qs, tc.questions) {
					t.Errorf("Evaluate(%+v) questions = %v; want %v", tc.req, qs, tc.questions)
				}
			}
		})
	}

	// The default topic answers as the rules with one topic do.
	for _, s := range sampleRequests(one.Catalog) {
		want, err1 := one.Evaluate(ctx, s.req)
		got, err2 := p.Evaluate(ctx, s.req)
		want.Revision, got.Revision = "", ""
		if err1 != nil || err2 != nil || !equalDecisions(got, want) {
			t.Errorf("Evaluate(%s) with two topics = %+v, %v; want %+v, %v as with one", s.name, got, err2, want, err1)
		}
	}
}

func equalDecisions(a, b knowledge.Decision) bool {
	return a.Topic == b.Topic && a.Outcome == b.Outcome && slices.Equal(a.Symptoms, b.Symptoms) &&
		slices.EqualFunc(a.Findings, b.Findings, func(x, y knowledge.Finding) bool {
			return x.ID == y.ID && slices.Equal(x.Because, y.Because)
		}) && slices.Equal(a.RuledOut, b.RuledOut) && slices.Equal(a.ToTry, b.ToTry) && slices.Equal(a.Questions, b.Questions)
}

// TestTopicsRefused: what two topics may not do is refused with the file
// (and line) to fix.
func TestTopicsRefused(t *testing.T) {
	base := withSecondTopic(t)
	var decisionPath, factsPath, causesPath string
	for name := range base.Modules {
		switch {
		case strings.HasSuffix(name, "notifications/decision.rego"):
			decisionPath = name
		case strings.HasSuffix(name, "notifications/facts.rego"):
			factsPath = name
		case strings.HasSuffix(name, "notifications/causes.rego"):
			causesPath = name
		}
	}
	tests := []struct {
		name   string
		change func(src knowledge.Source)
		file   string
		want   string
	}{
		{"a symptom of another topic", func(src knowledge.Source) {
			src.Modules[decisionPath] = strings.Replace(src.Modules[decisionPath], `"notifications_late"]`, `"notifications_late", "code_not_received"]`, 1)
		}, "notifications", "symptom code_not_received, which topic login declares too"},
		{"a cause id of another topic", func(src knowledge.Source) {
			src.Modules[causesPath] = strings.ReplaceAll(src.Modules[causesPath], "battery_saver_on", "check_spam")
		}, causesPath, "cause check_spam is declared in two topics"},
		{"a fact declared otherwise", func(src knowledge.Source) {
			src.Modules[factsPath] = strings.Replace(src.Modules[factsPath], `"battery_saver": {`, `"vpn": {"type": "count", "description": "x"},
	"battery_saver": {`, 1)
		}, "", "facts.vpn is declared otherwise"},
		{"two defaults", func(src knowledge.Source) {
			src.Modules[decisionPath] = strings.Replace(src.Modules[decisionPath], "package notifications", "# custom:\n#   default: true\npackage notifications", 1)
		}, "notifications", "and so does topic login"},
		{"a topic named as a page of the site", func(src knowledge.Source) {
			for name, text := range src.Modules {
				if strings.Contains(name, "notifications/") {
					src.Modules[name] = strings.ReplaceAll(text, "notifications.", "help.")
					src.Modules[name] = strings.ReplaceAll(src.Modules[name], "package notifications", "package help")
				}
			}
		}, "notifications/decision.rego", "its name is one of the help site's own pages"},
		{"a topic without its title", func(src knowledge.Source) {
			for name, b := range src.Messages {
				if strings.HasPrefix(name, "notifications/") {
					src.Messages[name] = []byte(strings.Replace(string(b), "[TopicNotificationsTitle]", "[TopicNotificationsTitleX]", 1))
				}
			}
		}, "notifications", "topic notifications has no es text: add TopicNotificationsTitle to locales/notifications/active.es.toml"},
		{"a topic without its article", func(src knowledge.Source) {
			for name := range src.Docs {
				if strings.HasSuffix(name, "notifications/article.en.md") {
					delete(src.Docs, name)
				}
			}
		}, "notifications/article.en.md", "admins' article of topic notifications in en is missing"},
		{"a text defined twice", func(src knowledge.Source) {
			for name, b := range src.Messages {
				if name == "notifications/active.en.toml" {
					src.Messages[name] = append(b, "\n[CauseCheckSpamTitle]\ndescription = \"d\"\nother = \"x\"\n"...)
				}
			}
		}, "locales/notifications/active.en.toml", "CauseCheckSpamTitle is defined in locales/active.en.toml too"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := base.Clone()
			tc.change(src)
			_, err := Build(context.Background(), src, Options{SkipTests: true, Deadline: time.Minute})
			ps, ok := knowledge.AsProblems(err)
			if !ok || !slices.ContainsFunc(ps, func(p knowledge.Problem) bool {
				return strings.Contains(p.File, tc.file) && strings.Contains(p.Message, tc.want)
			}) {
				t.Errorf("Build(%s) = %v; want a problem in %s saying %q", tc.name, err, tc.file, tc.want)
			}
		})
	}
}
