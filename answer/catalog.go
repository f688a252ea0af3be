package answer

import (
	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
)

// Catalog is what the rules being served know, with its texts in one
// language: the body of GET /api/v1/causes.
type Catalog struct {
	PolicyRevision string         `json:"policy_revision"`
	Lang           string         `json:"lang"`
	Topics         []TopicEntry   `json:"topics"`
	Symptoms       []SymptomEntry `json:"symptoms"`
	Causes         []CauseEntry   `json:"causes"`
	Facts          []FactEntry    `json:"facts"`
}

// TopicEntry is one topic (a troubleshooting article as rules): its id,
// its title and summary, whether it is the default (the topic of a
// request naming none), and its symptoms. A request names it in "topic".
type TopicEntry struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Default     bool     `json:"default"`
	Symptoms    []string `json:"symptoms"`
}

// SymptomEntry is one of the article's questions, in its topic.
type SymptomEntry struct {
	ID          string `json:"id"`
	Topic       string `json:"topic"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// CauseEntry is one cause: its symptom, the facts it rests on, its texts
// and the article section that explains it; for a cause a contact can try
// without knowing whether it applies, contact_can_try and that advice.
type CauseEntry struct {
	ID            string   `json:"id"`
	Topic         string   `json:"topic"`
	Symptom       string   `json:"symptom"`
	Facts         []string `json:"facts"`
	Title         string   `json:"title"`
	Advice        string   `json:"advice"`
	ContactCanTry bool     `json:"contact_can_try"`
	TryTitle      string   `json:"try_title,omitempty"`
	TryAdvice     string   `json:"try_advice,omitempty"`
	ArticleURL    string   `json:"article_url"`
}

// FactEntry is one fact a request may carry, as the rules declare it, and,
// when someone can be asked about it, the question.
type FactEntry struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Choices  []string `json:"choices,omitempty"`
	Personal bool     `json:"personal"`
	// Topics are the topics that declare the fact.
	Topics   []string      `json:"topics"`
	AskedOf  string        `json:"asked_of,omitempty"`
	Question *FactQuestion `json:"question,omitempty"`
}

// FactQuestion is how someone is asked about a fact: the question, the
// kind of answer it takes (boolean or multiple_choice), who answers it and
// how they check.
type FactQuestion struct {
	Text    string `json:"text"`
	Type    string `json:"type"`
	AskedOf string `json:"asked_of"`
	Help    string `json:"help"`
}

// NewCatalog describes p's catalog in lang. Facts come in the declared
// asking order: the contact's, then the admin's, then those nobody is
// asked.
func NewCatalog(p *rules.Policy, lang string) Catalog {
	l := locales.NewLocalizer(p.Texts, lang)
	cat := Catalog{
		PolicyRevision: p.Revision,
		Lang:           lang,
		Topics:         make([]TopicEntry, 0, len(p.Topics)),
		Symptoms:       make([]SymptomEntry, 0, len(p.Catalog.Symptoms)),
		Causes:         make([]CauseEntry, 0, len(p.Catalog.Causes)),
		Facts:          make([]FactEntry, 0, len(p.Catalog.Facts)),
	}
	for i, t := range p.Topics {
		cat.Topics = append(cat.Topics, TopicEntry{
			ID:          t.Name,
			Title:       l.T(locales.TopicTitle(t.Name)),
			Description: l.T(locales.TopicDescription(t.Name)),
			Default:     i == 0,
			Symptoms:    t.Catalog.Symptoms,
		})
	}
	for _, id := range p.Catalog.Symptoms {
		cat.Symptoms = append(cat.Symptoms, SymptomEntry{
			ID:          id,
			Topic:       p.Catalog.TopicOfSymptom(id),
			Title:       l.T(locales.SymptomTitle(id)),
			Description: l.T(locales.SymptomDescription(id)),
		})
	}
	for _, cause := range p.Catalog.Causes {
		entry := CauseEntry{
			ID:            cause.ID,
			Topic:         p.Catalog.TopicOfCause(cause.ID),
			Symptom:       cause.Symptom,
			Facts:         cause.Facts,
			Title:         l.T(locales.CauseTitle(cause.ID)),
			Advice:        l.T(locales.CauseAdvice(cause.ID)),
			ContactCanTry: cause.ContactCanTry,
			ArticleURL:    ArticleURL(p.Catalog, lang, cause.ID),
		}
		if cause.ContactCanTry {
			entry.TryTitle, entry.TryAdvice = TryTitle(l, cause.ID), TryAdvice(l, cause.ID)
		}
		cat.Causes = append(cat.Causes, entry)
	}
	for _, f := range p.Catalog.Facts {
		entry := FactEntry{Name: f.Name, Type: f.Type, Choices: f.Choices, Personal: f.Personal, AskedOf: f.AskedOf, Topics: []string{}}
		for _, t := range p.Topics {
			if _, ok := t.Catalog.Fact(f.Name); ok {
				entry.Topics = append(entry.Topics, t.Name)
			}
		}
		if f.Asked() {
			entry.Question = &FactQuestion{
				Text:    l.T(locales.Question(f.Name)),
				Type:    knowledge.QuestionType(f.Type),
				AskedOf: f.AskedOf,
				Help:    l.T(locales.QuestionHelp(f.Name)),
			}
		}
		cat.Facts = append(cat.Facts, entry)
	}
	return cat
}
