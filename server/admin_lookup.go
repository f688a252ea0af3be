package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/flow"
	"acceso/locales"
	"acceso/rules"
	"acceso/server/store"
	"acceso/templates"
)

// handleLookup looks a decision up by the reference a contact quotes and
// continues it: the admin answers, on the same engine, what only an admin
// can check (the contact card, the registration, the publication), and
// sees the complete findings of the rules being served. The admin's
// answers travel in the query string: they are facts about the platform,
// never personal data.
func (a *adminArea) handleLookup(c echo.Context) error {
	ctx := c.Request().Context()
	page := templates.AdminLookup{Shell: a.shell(c, "AdminLookupTitle", "decisions"), Reference: c.QueryParam("reference")}
	if page.Reference == "" {
		return render(c, http.StatusOK, templates.AdminLookupPage(page))
	}
	ref, ok := answer.NormalizeReference(page.Reference)
	if !ok {
		page.NotFound = true
		return render(c, http.StatusOK, templates.AdminLookupPage(page))
	}
	if a.decisions != nil {
		a.decisions.Flush() // a decision made a moment ago is found
	}
	p := a.engine.Current()
	dec, err := a.store.Decision(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		// A reference of the static export names a state, not a decision:
		// find it among the states of the rules being served.
		var found bool
		if dec, found = a.exportedState(ctx, p, ref); !found {
			a.countLookup(ctx, nil)
			page.NotFound = true
			return render(c, http.StatusNotFound, templates.AdminLookupPage(page))
		}
	} else if err != nil {
		return err
	}
	if len(c.QueryParams()) == 1 { // the look-up itself, not the admin's answers after it
		a.countLookup(ctx, &dec)
	}
	lang := locales.Lang(ctx)
	contact := locales.NewLocalizer(p.Texts, lang)
	view := &templates.AdminDecision{
		Reference: dec.Reference,
		When:      dec.At.Format(time.RFC3339),
		Source:    dec.Source,
		Revision:  dec.Revision,
		Symptom:   dec.Symptom,
		Outcome:   dec.Outcome,
	}
	if view.Symptom != "" {
		view.Symptom = contact.T(locales.SymptomTitle(dec.Symptom))
	}
	for _, f := range p.Catalog.Facts {
		if v, ok := dec.Facts[f.Name]; ok {
			view.Answers = append(view.Answers, templates.AdminFactAnswer{Question: contact.T(locales.Question(f.Name)), Answer: factText(contact, f, v)})
		}
	}
	for _, id := range dec.Findings {
		view.Findings = append(view.Findings, templates.AdminFinding{ID: id, Title: contact.T(locales.CauseTitle(id))})
	}

	// Continue it: the stored facts and the admin's answers, through the
	// API's own decoder and engine.
	facts := make(map[string]any, len(dec.Facts))
	for name, v := range dec.Facts {
		facts[name] = v
	}
	answered := false
	for _, f := range p.Catalog.Facts {
		if f.AskedOf != rules.AskedOfAdmin || f.Type != rules.TypeBoolean {
			continue
		}
		switch c.QueryParam(f.Name) {
		case flow.Yes:
			facts[f.Name], answered = true, true
		case flow.No:
			facts[f.Name], answered = false, true
		case "", flow.Unknown:
		default:
			return answer.BadField(f.Name)
		}
	}
	body, err := json.Marshal(map[string]any{"symptom": dec.Symptom, "facts": facts})
	if err != nil {
		return err
	}
	req, err := answer.Decode(p.Catalog, body)
	if err != nil {
		// A fact the rules no longer declare: continue without it.
		a.log.Warn("a kept decision no longer fits the rules being served", "reference", ref, "err", answer.As(err).Message)
		req = rules.Request{Symptom: dec.Symptom, Facts: map[string]any{}}
		if !slices.Contains(p.Catalog.Symptoms, dec.Symptom) {
			req.Symptom = ""
		}
	}
	now, err := answer.Evaluate(ctx, p, req, lang)
	if err != nil {
		return err
	}
	for _, q := range now.Questions {
		if q.AskedOf == rules.AskedOfAdmin {
			view.Questions = append(view.Questions, templates.AdminQuestion{Fact: q.Fact, Text: q.Text, Help: q.Help, Answer: c.QueryParam(q.Fact)})
		}
	}
	// The questions the admin answered are answered no more; list them
	// again, with their answer, so that it can be changed.
	for _, f := range p.Catalog.Facts {
		if v := c.QueryParam(f.Name); f.AskedOf == rules.AskedOfAdmin && (v == flow.Yes || v == flow.No) {
			view.Questions = append(view.Questions, templates.AdminQuestion{Fact: f.Name, Text: contact.T(locales.Question(f.Name)), Help: contact.T(locales.QuestionHelp(f.Name)), Answer: v})
		}
	}
	if answered {
		v := answerView(now)
		view.Now = &v
	}
	page.Decision = view
	page.Reference = ref
	return render(c, http.StatusOK, templates.AdminLookupPage(page))
}

// factText is a stored fact's value in words: yes or no, the choices'
// labels, a count.
func factText(l locales.Localizer, f rules.Fact, v any) string {
	switch v := v.(type) {
	case bool:
		if v {
			return l.T("AnswerYes")
		}
		return l.T("AnswerNo")
	case []any:
		labels := make([]string, 0, len(v))
		for _, item := range v {
			if s, ok := item.(string); ok {
				if f.Type == rules.TypeChoices {
					s = l.T(locales.Choice(f.Name, s))
				}
				labels = append(labels, s)
			}
		}
		return strings.Join(labels, l.T("AnswerJoin"))
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// exportedState is the state of the static export whose reference is ref
// under the rules p, as a decision: its answers, findings and outcome.
func (a *adminArea) exportedState(ctx context.Context, p *rules.Policy, ref string) (store.Decision, bool) {
	m, err := a.flowMap(ctx, p)
	if err != nil {
		return store.Decision{}, false
	}
	n, ok := m.Find(p.Revision, ref)
	if !ok {
		return store.Decision{}, false
	}
	facts := make(map[string]any)
	for name, v := range n.Diagnosis.Request().Facts {
		if list, ok := v.([]string); ok {
			items := make([]any, len(list))
			for i, s := range list {
				items[i] = s
			}
			v = items
		}
		facts[name] = v
	}
	return store.Decision{Reference: ref, At: a.now().UTC(), Source: "export", Revision: p.Revision,
		Symptom: n.Diagnosis.Symptom, Facts: facts, Findings: n.Findings, Outcome: n.Outcome}, true
}
