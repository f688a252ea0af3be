package flow

import (
	"context"
	"strings"
	"testing"
	"time"

	"acceso/internal/topictest"
	"acceso/rules"
)

// TestExploreTopics: with a second topic, the self-diagnosis covers every
// topic's symptoms; the default topic's paths are those of before topics,
// the other's are below /{lang}/{topic}/, and a path reads back to its
// state, topic and all.
func TestExploreTopics(t *testing.T) {
	ctx := context.Background()
	src, err := rules.FromDir(topictest.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := rules.Build(ctx, src, rules.Options{Deadline: time.Minute, SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Explore(ctx, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if problems := m.Check(p.Catalog); len(problems) > 0 {
		t.Errorf("Check = %v; want none", problems)
	}
	if len(m.Trees) != len(p.Catalog.Symptoms) {
		t.Fatalf("Explore: %d trees; want one for each of the %d symptoms of both topics", len(m.Trees), len(p.Catalog.Symptoms))
	}
	found := map[string]bool{}
	for _, tree := range m.Trees {
		topic := p.Catalog.TopicOfSymptom(tree.Symptom)
		for _, n := range tree.Nodes {
			for _, f := range n.Findings {
				found[f] = true
			}
			path := n.Diagnosis.Path("en")
			want := "/en/diagnose/" + tree.Symptom + "/"
			if topic != "login" {
				want = "/en/" + topic + "/diagnose/" + tree.Symptom + "/"
			}
			if !strings.HasPrefix(path, want) {
				t.Errorf("state of %s (topic %s) at %s; want it below %s", tree.Symptom, topic, path, want)
			}
			segments := strings.Split(strings.TrimPrefix(path, want[:strings.Index(want, "diagnose/")+len("diagnose/")]), "/")
			back, err := ParsePath(p.Catalog, segments)
			if err != nil || back.Path("en") != path {
				t.Errorf("ParsePath(%v) = %s, %v; want %s", segments, back.Path("en"), err, path)
			}
		}
	}
	for _, id := range []string{"notifications_blocked", "do_not_disturb_on", "battery_saver_on", "check_spam"} {
		if !found[id] {
			t.Errorf("no state of the self-diagnosis finds %s", id)
		}
	}
}
