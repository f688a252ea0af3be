package admin

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/flow"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/server/web"
	"acceso/store"
	"acceso/templates"
)

// handleLookup looks a decision up by the reference a contact quotes and
// continues it: the admin answers, on the same engine, what only an admin
// can check (the contact card, the registration, the publication), and
// sees the complete findings of the rules being served. The admin's
// answers travel in the query string: they are facts about the platform,
// never personal data.
func (a *Area) handleLookup(c echo.Context) error {
	ctx := c.Request().Context()
	page := templates.AdminLookup{Shell: a.shell(c, "AdminLookupTitle", "decisions"), Reference: c.QueryParam("reference")}
	if page.Reference == "" {
		return web.Render(c, http.StatusOK, templates.AdminLookupPage(page))
	}
	ref, ok := knowledge.NormalizeReference(page.Reference)
	if !ok {
		page.NotFound = true
		return web.Render(c, http.StatusOK, templates.AdminLookupPage(page))
	}
	p := a.engine.Current()
	dec, err := a.kept.Find(ctx, p, ref)
	if errors.Is(err, store.ErrNotFound) {
		a.countLookup(ctx, nil)
		page.NotFound = true
		return web.Render(c, http.StatusNotFound, templates.AdminLookupPage(page))
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
		When:      localTime(dec.At),
		Source:    contact.T(locales.ID("AdminSource", dec.Source, "")),
		Revision:  dec.Revision,
		Symptom:   dec.Symptom,
		Outcome:   outcomeName(contact, dec.Outcome),
	}
	if view.Symptom != "" {
		view.Symptom = contact.T(locales.SymptomTitle(dec.Symptom))
	}
	for _, f := range p.Catalog.Facts {
		if v, ok := dec.Facts[f.Name]; ok {
			view.Answers = append(view.Answers, templates.AdminFactAnswer{Question: contact.T(locales.Question(f.Name)), Answer: web.FactText(contact, f, v)})
		}
	}
	for _, id := range dec.Findings {
		view.Findings = append(view.Findings, templates.AdminFinding{ID: id, Title: contact.T(locales.CauseTitle(id))})
	}

	// Continue it with the admin's answers.
	answers := make(map[string]any)
	for _, f := range p.Catalog.Facts {
		if f.AskedOf != knowledge.AskedOfAdmin || f.Type != knowledge.TypeBoolean {
			continue
		}
		switch c.QueryParam(f.Name) {
		case flow.Yes:
			answers[f.Name] = true
		case flow.No:
			answers[f.Name] = false
		case "", flow.Unknown:
		default:
			return answer.BadField(f.Name)
		}
	}
	now, err := a.kept.Continue(ctx, "lookup", p, dec, answers, lang)
	if err != nil {
		return err
	}
	// The admin's questions, in the rules' asking order whether answered
	// or not, so that they do not move once answered.
	for _, f := range p.Catalog.Facts {
		if f.AskedOf != knowledge.AskedOfAdmin {
			continue
		}
		v := c.QueryParam(f.Name)
		open := slices.ContainsFunc(now.Questions, func(q answer.Question) bool { return q.Fact == f.Name })
		if open || v == flow.Yes || v == flow.No {
			view.Questions = append(view.Questions, templates.AdminQuestion{Fact: f.Name, Text: contact.T(locales.Question(f.Name)),
				Help: contact.T(locales.QuestionHelp(f.Name)), Answer: v})
		}
	}
	view.Result = lookupResult(contact, now, dec.Reference, len(answers) > 0)
	page.Decision = view
	page.Reference = ref
	return web.Render(c, http.StatusOK, templates.AdminLookupPage(page))
}

// lookupResult is what a support agent reads first: the outcome in words,
// each likely cause with what to do (the contact's advice) and where the
// admins' guide explains it, the things the contact can still try, and a
// reply to send the contact, in the admin's language.
func lookupResult(l locales.Localizer, r answer.Response, ref string, answered bool) templates.AdminLookupResult {
	res := templates.AdminLookupResult{Outcome: outcomeName(l, r.Outcome), Answered: answered}
	var reply []string
	reply = append(reply, strings.ReplaceAll(l.T("AdminReplyIntro"), "{ref}", ref))
	for _, f := range r.Findings {
		res.Causes = append(res.Causes, templates.AdminLookupCause{ID: f.ID, Title: f.Title, Advice: f.Advice, GuideURL: f.ArticleURL})
		reply = append(reply, f.Advice)
	}
	for _, t := range r.ToTry {
		res.ToTry = append(res.ToTry, templates.AdminLookupCause{ID: t.ID, Title: t.Title, Advice: t.Advice, GuideURL: t.ArticleURL})
	}
	switch {
	case len(r.Findings) > 0:
	case len(r.ToTry) > 0:
		reply = append(reply, l.T("AdminReplyTryThis"))
		for _, t := range r.ToTry {
			reply = append(reply, "- "+t.Advice)
		}
	default:
		reply = append(reply, l.T("AdminReplyNothing"))
	}
	reply = append(reply, l.T("AdminReplyClosing"))
	res.Reply = strings.Join(reply, "\n\n")
	return res
}

// outcomeName is an outcome in the admin's words.
func outcomeName(l locales.Localizer, outcome string) string {
	switch outcome {
	case knowledge.OutcomeCausesFound:
		return l.T("OutcomeCausesFoundTitle")
	case knowledge.OutcomeNeedsAnswers:
		return l.T("AdminOutcomeNeedsAnswers")
	case knowledge.OutcomeNoKnownCause:
		return l.T("OutcomeNoKnownCauseTitle")
	}
	return outcome
}

// localTime is when a decision was made, in the server's time zone, with
// the zone, to the minute.
func localTime(t time.Time) string { return t.In(time.Local).Format("2006-01-02 15:04 MST (-07:00)") }
