package answer_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"acceso/answer"
	"acceso/internal/topictest"
	"acceso/rules"
)

// TestTopicRequests: with a second topic, a request may name it, or only
// its symptom; its symptom and facts must be its topic's; a request of
// today (no topic) answers as before, with no topic in the answer; the
// catalog lists both topics.
func TestTopicRequests(t *testing.T) {
	ctx := context.Background()
	src, err := rules.FromDir(topictest.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := rules.Build(ctx, src, rules.Options{Deadline: time.Minute})
	if err != nil {
		t.Fatalf("Build(with the second topic) = %v", err)
	}
	one, err := rules.Build(ctx, rules.Embedded(), rules.Options{Deadline: time.Minute, SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	two := answer.Service{Engine: rules.NewEngine(p)}
	login := answer.Service{Engine: rules.NewEngine(one)}

	tests := []struct {
		name     string
		body     string
		topic    string   // the answer's topic
		findings []string // ids
		article  string   // the first finding's article_url
		fault    string   // the field at fault, for a refused request
	}{
		{"topic and symptom", `{"topic":"notifications","symptom":"notifications_missing","lang":"en","facts":{"do_not_disturb":true}}`,
			"notifications", []string{"do_not_disturb_on"}, "/en/notifications/article#do_not_disturb_on", ""},
		{"only its symptom", `{"symptom":"notifications_late","lang":"es","facts":{"battery_saver":true}}`,
			"notifications", []string{"battery_saver_on"}, "/es/notifications/article#battery_saver_on", ""},
		{"only the topic", `{"topic":"notifications","facts":{"notifications_allowed":false}}`,
			"notifications", []string{"notifications_blocked"}, "/es/notifications/article#notifications_blocked", ""},
		{"the default topic named", `{"topic":"login","facts":{"vpn":true}}`,
			"", []string{"vpn_in_use"}, "/es/article#vpn_in_use", ""},
		{"an unknown topic", `{"topic":"billing","facts":{}}`, "", nil, "", "topic"},
		{"a symptom of another topic", `{"topic":"notifications","symptom":"code_not_received","facts":{}}`, "", nil, "", "symptom"},
		{"a fact of another topic", `{"topic":"notifications","facts":{"vpn":true}}`, "", nil, "", "facts.vpn"},
		{"a fact of the default topic's other", `{"facts":{"battery_saver":true}}`, "", nil, "", "facts.battery_saver"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := two.Answer(ctx, answer.Ask{Source: "test", Body: []byte(tc.body)})
			if tc.fault != "" {
				e := answer.As(err)
				if err == nil || e.Code != answer.CodeInvalidFacts || !slices.ContainsFunc(e.Details, func(d answer.FieldError) bool { return d.Field == tc.fault }) {
					t.Errorf("Answer(%s) = %v; want invalid_facts at %s", tc.body, err, tc.fault)
				}
				return
			}
			if err != nil {
				t.Fatalf("Answer(%s) = %v", tc.body, err)
			}
			r := res.Response
			var ids []string
			for _, f := range r.Findings {
				ids = append(ids, f.ID)
			}
			if r.Topic != tc.topic || !slices.Equal(ids, tc.findings) || r.Findings[0].ArticleURL != tc.article {
				t.Errorf("Answer(%s) = topic %q, findings %v at %s; want %q, %v at %s", tc.body, r.Topic, ids, r.Findings[0].ArticleURL, tc.topic, tc.findings, tc.article)
			}
		})
	}

	// A request of today gets, with two topics, the answer it got with one.
	for _, body := range []string{
		`{"symptom":"code_not_received","lang":"en","facts":{"channels_tried":["email"],"spam_checked":false}}`,
		`{"facts":{}}`,
		`{"symptom":"code_not_accepted","facts":{"vpn":false,"used_latest_code":true}}`,
	} {
		a, err1 := two.Answer(ctx, answer.Ask{Source: "test", Body: []byte(body)})
		b, err2 := login.Answer(ctx, answer.Ask{Source: "test", Body: []byte(body)})
		if err1 != nil || err2 != nil {
			t.Fatalf("Answer(%s) = %v, %v", body, err1, err2)
		}
		if got, want := stableJSON(t, a.Response), stableJSON(t, b.Response); got != want {
			t.Errorf("Answer(%s) with two topics = %s; want %s, as with one", body, got, want)
		}
	}

	cat := answer.NewCatalog(p, "en")
	if len(cat.Topics) != 2 || cat.Topics[0].ID != "login" || !cat.Topics[0].Default || cat.Topics[1].ID != "notifications" ||
		cat.Topics[1].Title != "I don't get notifications" || !slices.Equal(cat.Topics[1].Symptoms, []string{"notifications_missing", "notifications_late"}) {
		t.Errorf("catalog topics = %+v; want login (default) and notifications with its title and symptoms", cat.Topics)
	}
	for _, c := range cat.Causes {
		inTopic := c.Topic == "notifications"
		if inTopic != strings.Contains(c.ArticleURL, "/notifications/") {
			t.Errorf("catalog cause %s of topic %s links to %s", c.ID, c.Topic, c.ArticleURL)
		}
	}
}

func stableJSON(t *testing.T, r answer.Response) string {
	t.Helper()
	r.DecisionID, r.Reference, r.PolicyRevision = "", "", ""
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
