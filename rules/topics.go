package rules

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"acceso/content"
	"acceso/knowledge"
	"acceso/locales"
)

// A topic is one troubleshooting article as rules: a Rego package directly
// under data (package login is data.login) that defines decisionRule, in a
// folder of its own (rules/login/) with its facts, symptoms, causes, Rego
// tests, the admins' article and the contacts' explanations beside them.
// Nothing in Go names a topic: Build finds them in the modules. With one
// topic, it is the default; with more, exactly one says so in its package
// METADATA (custom: default: true), and it gets the requests that name no
// topic and no symptom, and the addresses of the site without a topic.
const (
	decisionRule = "decision"
	defaultKey   = "default"
)

// topicName is a topic's name, as addresses and message ids use it.
var topicName = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// reservedTopics are names no topic can take: the help site's own pages
// in a language's folder (/es/article), beside which a topic's pages have
// a folder of its name (/es/notifications/article).
var reservedTopics = []string{"article", "help", "diagnose", "language", "feedback"}

// Topic is one topic of a policy: its name, its catalog, its admins'
// article and contacts' explanations, and its prepared queries.
type Topic struct {
	// Name is the topic's package (login for package login).
	Name string
	// Catalog is the topic's own catalog (Catalog.Topic is Name).
	Catalog knowledge.Catalog
	// Articles is the topic's admins' article, in every language.
	Articles *content.Set
	// Help is the contacts' explanation of each of the topic's causes,
	// in every language.
	Help *content.Set
	// Dir is the folder of the topic's files in the source
	// (rules/login).
	Dir string

	pkg    ast.Ref
	query  rego.PreparedEvalQuery
	cache  *decisionCache // nil when off
	always []string       // facts every decision may read beside its causes'
}

// Topic returns the topic of the given name.
func (p *Policy) Topic(name string) (*Topic, bool) {
	i := slices.IndexFunc(p.Topics, func(t *Topic) bool { return t.Name == name })
	if i < 0 {
		return nil, false
	}
	return p.Topics[i], true
}

// Default returns the default topic: the one a request naming no topic
// and no symptom gets.
func (p *Policy) Default() *Topic { return p.Topics[0] }

// TopicOf returns the topic a request goes to: the topic it names, else
// its symptom's, else the default topic. A topic or symptom no topic has
// gives the default topic: requests are validated before (answer.Decode).
func (p *Policy) TopicOf(req knowledge.Request) *Topic {
	if len(p.Topics) == 1 {
		return p.Topics[0]
	}
	c, _ := p.Catalog.TopicOf(req.Topic, req.Symptom)
	if t, ok := p.Topic(c.Topic); ok {
		return t
	}
	return p.Topics[0]
}

// ref is the path of one of the topic's rules: data.<topic>.<name>.
func (t *Topic) ref(name string) ast.Ref {
	return t.pkg.Copy().Append(ast.StringTerm(name))
}

// query names one of the topic's rules as a query: data.<topic>.<name>.
func (t *Topic) queryOf(name string) string { return t.ref(name).String() }

// findTopics finds the topics among the policy modules: every package that
// defines decisionRule, directly under data. The default topic comes first,
// then the others by name. Each problem is at the file and line of the
// package or the rule at fault.
func findTopics(modules map[string]*ast.Module) ([]*Topic, knowledge.Problems) {
	var problems knowledge.Problems
	byName := make(map[string]*Topic)
	var defaults []*Topic
	for _, name := range slices.Sorted(maps.Keys(modules)) {
		m := modules[name]
		for _, r := range m.Rules {
			if r.Head.Name != decisionRule || len(r.Head.Ref()) != 1 {
				continue
			}
			at := knowledge.Problem{File: name}
			if r.Location != nil {
				at.Line = r.Location.Row
			}
			topic, ok := topicOfPackage(m.Package.Path)
			if !ok {
				at.Message = fmt.Sprintf("%s defines %s, so it is a topic: a topic is a package directly under data, named in snake_case (package login), not %s",
					m.Package.Path, decisionRule, m.Package.Path)
				problems = append(problems, at)
				continue
			}
			if slices.Contains(reservedTopics, topic) {
				at.Message = fmt.Sprintf("package %s is a topic, and its name is one of the help site's own pages (%s): name it otherwise",
					topic, strings.Join(reservedTopics, ", "))
				problems = append(problems, at)
				continue
			}
			if _, seen := byName[topic]; !seen {
				byName[topic] = &Topic{Name: topic, pkg: m.Package.Path.Copy(), Dir: path.Dir(name)}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(modules)) {
		m := modules[name]
		topic, ok := topicOfPackage(m.Package.Path)
		t := byName[topic]
		if !ok || t == nil {
			continue
		}
		for _, a := range m.Annotations {
			if a.Scope != "package" {
				continue
			}
			v, set := a.Custom[defaultKey]
			if !set {
				continue
			}
			if is, ok := v.(bool); !ok {
				problems = append(problems, knowledge.Problem{File: name, Line: locationRow(a.Location), Message: fmt.Sprintf(
					"topic %s: metadata custom.%s must be true or false, not %v", topic, defaultKey, v)})
			} else if is && !slices.Contains(defaults, t) {
				defaults = append(defaults, t)
			}
		}
	}
	topics := slices.SortedFunc(maps.Values(byName), func(a, b *Topic) int { return strings.Compare(a.Name, b.Name) })
	switch {
	case len(topics) == 0:
		problems = append(problems, knowledge.Problem{File: "rules", Message: fmt.Sprintf(
			"no topic: a topic is a package that defines %s (see rules/login/decision.rego, or write a folder with acceso rules init)", decisionRule)})
	case len(defaults) > 1:
		for _, t := range defaults[1:] {
			problems = append(problems, knowledge.Problem{File: t.Dir, Message: fmt.Sprintf(
				"topic %s says it is the default, and so does topic %s: one topic is the default (custom: %s: true in its package METADATA)", t.Name, defaults[0].Name, defaultKey)})
		}
	case len(defaults) == 0 && len(topics) > 1:
		names := make([]string, len(topics))
		for i, t := range topics {
			names[i] = t.Name
		}
		problems = append(problems, knowledge.Problem{File: "rules", Message: fmt.Sprintf(
			"topics %s: say which is the default (the one requests without a topic get) with custom: %s: true in its package METADATA, above its package line",
			strings.Join(names, ", "), defaultKey)})
	case len(defaults) == 1:
		rest := slices.DeleteFunc(slices.Clone(topics), func(t *Topic) bool { return t == defaults[0] })
		topics = append([]*Topic{defaults[0]}, rest...)
	}
	return topics, problems
}

// topicOfPackage is the topic a package path names: data.<topic>.
func topicOfPackage(pkg ast.Ref) (string, bool) {
	if len(pkg) != 2 || !pkg[0].Equal(ast.DefaultRootDocument) {
		return "", false
	}
	s, ok := pkg[1].Value.(ast.String)
	if !ok || !topicName.MatchString(string(s)) {
		return "", false
	}
	return string(s), true
}

func locationRow(loc *ast.Location) int {
	if loc == nil {
		return 0
	}
	return loc.Row
}

// checkAcrossTopics reports what two topics may not share: a symptom id or
// a cause id (each names its topic, and its texts), and a fact declared
// differently (the request's facts are one object; a fact of the same name
// in two topics is the same fact, with the same texts).
func checkAcrossTopics(topics []*Topic) knowledge.Problems {
	var problems knowledge.Problems
	symptoms := make(map[string]string)
	causes := make(map[string]knowledge.Cause)
	facts := make(map[string]knowledge.Fact)
	for _, t := range topics {
		for _, s := range t.Catalog.Symptoms {
			if other, dup := symptoms[s]; dup {
				problems = append(problems, knowledge.Problem{File: t.Dir, Message: fmt.Sprintf(
					"topic %s declares the symptom %s, which topic %s declares too: a symptom id names its topic, so give it another", t.Name, s, other)})
			}
			symptoms[s] = t.Name
		}
		for _, c := range t.Catalog.Causes {
			if other, dup := causes[c.ID]; dup {
				problems = append(problems, knowledge.Problem{File: c.File, Line: c.Line, Message: fmt.Sprintf(
					"cause %s is declared in two topics (also at %s:%d): a cause id names its topic and its texts, so give it another", c.ID, other.File, other.Line)})
			}
			causes[c.ID] = c
		}
		for _, f := range t.Catalog.Facts {
			other, dup := facts[f.Name]
			if dup && (other.Type != f.Type || !slices.Equal(other.Choices, f.Choices) || other.Personal != f.Personal || other.AskedOf != f.AskedOf) {
				problems = append(problems, knowledge.Problem{File: f.File, Line: f.Line, Message: fmt.Sprintf(
					"facts.%s is declared otherwise at %s:%d: a fact of the same name in two topics is one fact (one value in a request, one question), so declare it alike or name it otherwise", f.Name, other.File, other.Line)})
			}
			if !dup {
				facts[f.Name] = f
			}
		}
	}
	return problems
}

// unionOf is the catalog of every topic: their symptoms and causes, topic
// after topic, every fact once (where first declared), and each topic's
// catalog in Topics.
func unionOf(topics []*Topic) knowledge.Catalog {
	if len(topics) == 1 {
		c := topics[0].Catalog
		c.Topics = []knowledge.Catalog{topics[0].Catalog}
		return c
	}
	var u knowledge.Catalog
	for _, t := range topics {
		u.Symptoms = append(u.Symptoms, t.Catalog.Symptoms...)
		u.Causes = append(u.Causes, t.Catalog.Causes...)
		for _, f := range t.Catalog.Facts {
			if _, dup := u.Fact(f.Name); !dup {
				u.Facts = append(u.Facts, f)
			}
		}
		u.Topics = append(u.Topics, t.Catalog)
	}
	return u
}

// checkTopicTexts reports a topic without its title or summary in a
// language. texts include the built-in ones, so that a revision stored
// before there were topics still has the title of its one topic.
func checkTopicTexts(topics []*Topic, texts *locales.Texts) knowledge.Problems {
	var problems knowledge.Problems
	for _, t := range topics {
		for _, lang := range locales.Languages {
			for _, id := range []string{locales.TopicTitle(t.Name), locales.TopicDescription(t.Name)} {
				if _, ok := texts.Text(lang, id); !ok {
					problems = append(problems, knowledge.Problem{File: cmp.Or(t.Dir, "rules"), Message: fmt.Sprintf(
						"topic %s has no %s text: add %s to %s (the home lists the topic by its title and summary)",
						t.Name, lang, id, topicMessagesPath(t.Name, lang))})
				}
			}
		}
	}
	return problems
}

// topicMessagesPath is where a topic's own texts go, as the draft names
// the file: locales/<topic>/active.<lang>.toml.
func topicMessagesPath(topic, lang string) string {
	return path.Join("locales", topic, locales.FileName(lang))
}
