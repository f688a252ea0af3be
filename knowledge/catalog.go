package knowledge

import (
	"slices"

	"acceso/locales"
)

// Catalog is what the rules know, read from their metadata and data: the
// symptoms and causes in article order and the facts, in asking order (the
// contact's first, then the admin's, then those nobody is asked).
//
// The rules hold one or more topics (a Rego package each: login
// troubleshooting, say), each with a catalog of its own (Topic names it).
// The catalog of a whole policy is their union: every topic's symptoms
// and causes, topic after topic, and every fact once, with Topics holding
// each topic's own catalog, the default topic (the one a request naming
// neither a topic nor a symptom gets) first. Symptom and cause ids are
// unique across topics, so a symptom or a cause names its topic.
type Catalog struct {
	// Topic is the topic's name in a topic's catalog; "" in a union.
	Topic    string
	Symptoms []string
	Causes   []Cause
	Facts    []Fact
	// Topics are the catalogs of the union's topics, the default first;
	// nil in a topic's catalog.
	Topics []Catalog
}

// TopicNames lists the topics, the default first: the one topic of a
// topic's catalog, or every topic of a union.
func (c Catalog) TopicNames() []string {
	if len(c.Topics) == 0 {
		return []string{c.Topic}
	}
	names := make([]string, len(c.Topics))
	for i, t := range c.Topics {
		names[i] = t.Topic
	}
	return names
}

// TopicOf returns the catalog of the topic a request goes to: the topic
// it names; else the topic of the symptom it names; else the default
// topic. ok is false for a topic or a symptom no topic has. A topic's
// catalog (no Topics) is its own.
func (c Catalog) TopicOf(topic, symptom string) (Catalog, bool) {
	if len(c.Topics) == 0 {
		return c, (topic == "" || topic == c.Topic) && (symptom == "" || slices.Contains(c.Symptoms, symptom))
	}
	switch {
	case topic != "":
		i := slices.IndexFunc(c.Topics, func(t Catalog) bool { return t.Topic == topic })
		if i < 0 {
			return c.Topics[0], false
		}
		return c.Topics[i], true
	case symptom != "":
		i := slices.IndexFunc(c.Topics, func(t Catalog) bool { return slices.Contains(t.Symptoms, symptom) })
		if i < 0 {
			return c.Topics[0], false
		}
		return c.Topics[i], true
	}
	return c.Topics[0], true
}

// TopicOfSymptom returns the name of the topic a symptom belongs to, or "".
func (c Catalog) TopicOfSymptom(symptom string) string {
	for _, t := range c.Topics {
		if slices.Contains(t.Symptoms, symptom) {
			return t.Topic
		}
	}
	if slices.Contains(c.Symptoms, symptom) {
		return c.Topic
	}
	return ""
}

// TopicOfCause returns the name of the topic a cause belongs to, or "".
func (c Catalog) TopicOfCause(id string) string {
	for _, t := range c.Topics {
		if _, ok := t.Cause(id); ok {
			return t.Topic
		}
	}
	if _, ok := c.Cause(id); ok {
		return c.Topic
	}
	return ""
}

// Default is the name of the default topic.
func (c Catalog) Default() string {
	if len(c.Topics) > 0 {
		return c.Topics[0].Topic
	}
	return c.Topic
}

// Cause is one cause as its rule declares it. Its place in the article is
// the position of its declaration (module path, then line), or right after
// the cause its metadata names in custom.after.
type Cause struct {
	ID      string
	Symptom string
	// After is the cause this one follows in the article
	// (custom.after); "" for its place in the file.
	After string
	Facts []string
	// ContactCanTry is set for a cause whose advice a contact can follow
	// without knowing the answer (contact_can_try contains "<id>" in the
	// rules): while the cause is open, the answer offers it to try.
	ContactCanTry bool
	Title         string // the rule's own title, for rule authors
	Description   string
	File          string
	Line          int
}

// Cause returns the cause with the given id.
func (c Catalog) Cause(id string) (Cause, bool) {
	i := slices.IndexFunc(c.Causes, func(x Cause) bool { return x.ID == id })
	if i < 0 {
		return Cause{}, false
	}
	return c.Causes[i], true
}

// Types of a fact's value.
const (
	// TypeBoolean is true or false.
	TypeBoolean = "boolean"
	// TypeCount is a whole number from 0 to MaxCount.
	TypeCount = "count"
	// TypeChoices is a list of the fact's Choices (a repeat counts once).
	TypeChoices = "choices"
	// TypeString is a non-empty text.
	TypeString = "string"
	// TypeStrings is a list of texts.
	TypeStrings = "strings"
)

// Who can answer a question about a fact.
const (
	// AskedOfContact is a fact the contact can check themselves.
	AskedOfContact = "contact"
	// AskedOfAdmin is a fact only an administrator of the platform can
	// check, on the contact card or the message.
	AskedOfAdmin = "admin"
)

// Limits on a fact's value.
const (
	MaxStringLen = 320 // the longest email address allowed by RFC 5321
	MaxListLen   = 50
	MaxCount     = 1000
)

// Fact is a fact as the rules declare it: its name, the type of its value
// (with its choices for TypeChoices), whether it is personal data (never
// logged, stored or put in a URL), who can answer a question about it
// (AskedOfContact, AskedOfAdmin, or "" when nobody is asked: it is derived
// or comes from integrations only), its place in the asking order and what
// it means (Description, for integrators). File and Line are where it is
// declared; its place in the asking order follows from them.
type Fact struct {
	Name        string
	Type        string
	Choices     []string
	Personal    bool
	AskedOf     string
	Description string
	File        string
	Line        int
}

// Asked reports whether a question is ever asked about the fact.
func (f Fact) Asked() bool { return f.AskedOf != "" }

// Fact returns the declared fact with the given name.
func (c Catalog) Fact(name string) (Fact, bool) {
	i := slices.IndexFunc(c.Facts, func(f Fact) bool { return f.Name == name })
	if i < 0 {
		return Fact{}, false
	}
	return c.Facts[i], true
}

// Messages returns the ids of every message the catalog needs, each with
// where the need comes from.
func (c Catalog) Messages() []NeededMessage {
	var need []NeededMessage
	for _, s := range c.Symptoms {
		need = append(need,
			NeededMessage{ID: locales.SymptomTitle(s), For: "symptom " + s},
			NeededMessage{ID: locales.SymptomDescription(s), For: "symptom " + s})
	}
	for _, cause := range c.Causes {
		// A cause's thing to try (locales.CauseTryAdvice) is optional: the
		// answer falls back on its advice.
		for _, id := range []string{locales.CauseTitle(cause.ID), locales.CauseAdvice(cause.ID)} {
			need = append(need, NeededMessage{ID: id, For: "cause " + cause.ID, File: cause.File, Line: cause.Line})
		}
	}
	for _, f := range c.Facts {
		if !f.Asked() {
			continue
		}
		need = append(need,
			NeededMessage{ID: locales.Question(f.Name), For: "question " + f.Name},
			NeededMessage{ID: locales.QuestionHelp(f.Name), For: "question " + f.Name})
		for _, choice := range f.Choices {
			need = append(need, NeededMessage{ID: locales.Choice(f.Name, choice), For: "choice " + choice + " of " + f.Name})
		}
	}
	return need
}

// NeededMessage is a message the rules need, and which rule needs it.
type NeededMessage struct {
	ID, For string
	File    string
	Line    int
}
