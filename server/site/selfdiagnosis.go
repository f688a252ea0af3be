package site

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/flow"
	"acceso/knowledge"
	"acceso/locales"
	"acceso/rules"
	"acceso/server/web"
	"acceso/store"
	"acceso/templates"
)

// handleDiagnoseQuery answers part 1's URLs of the self-diagnosis
// (/{lang}/diagnose?symptom=…&fact=value): 301 to the canonical path of the
// same state.
func (s *Server) handleDiagnoseQuery(c echo.Context) error {
	ctx := c.Request().Context()
	lang := locales.Lang(ctx)
	p := s.policyOf(c)
	d, err := flow.ParseQuery(p.Catalog, c.QueryParams())
	if err != nil {
		return err
	}
	target := d.Path(lang)
	if d.Symptom != "" {
		// Only the state the answers amount to: no answer is given here,
		// so none is counted or kept.
		t, ctx, err := s.answers.Begin(ctx, "site")
		if err != nil {
			return err
		}
		defer t.End()
		st, err := flow.Settle(ctx, t.Evaluate, p, d, lang)
		if err != nil {
			return err
		}
		target = st.Diagnosis.Path(lang)
	}
	if c.QueryParam("thanks") == "1" {
		target += "?thanks=1"
	}
	return c.Redirect(http.StatusMovedPermanently, target)
}

// handleDiagnose is one state of the self-diagnosis, at its canonical path
// (see flow/diagnosis.go). The engine, as for the API,
// says what is likely and what to ask next; the page asks the contact only
// what a contact can answer, one question at a time, each answer a link to
// the next state. Answers that no longer apply, or that come in another
// order, lead (301) to the canonical path of the state they amount to. When
// no question is left for the contact, the page shows the outcome and the
// handoff: the reference, what support will check and whom to ask. A
// state's path followed by change-<fact>/ asks that answered question
// again, with the current answer marked (see changeSegment).
func (s *Server) handleDiagnose(c echo.Context) error {
	ctx := c.Request().Context()
	lang := locales.Lang(ctx)
	p := s.policyOf(c)
	segments := strings.Split(c.Param("*"), "/")
	change := changeOf(segments)
	if change != "" {
		segments = slices.DeleteFunc(segments, func(seg string) bool { return seg == changeSegment(change) })
	}
	d, err := flow.ParsePath(p.Catalog, segments)
	if err != nil {
		return err
	}
	thanks := c.QueryParam("thanks") == "1"
	if d.Symptom == "" {
		// The choice of symptom of the topic the path names.
		t := s.topicOf(c)
		d.Topic = flow.TopicSegment(p.Catalog, t.Name)
		if c.Request().URL.Path != d.Path(lang) {
			return c.Redirect(http.StatusMovedPermanently, d.Path(lang))
		}
		return web.Render(c, http.StatusOK, templates.Diagnose(templates.DiagnosePage{
			Shell:        s.topicShell(c, t, locales.T(ctx, "DiagnoseTitle"), "diagnose/", "diagnose"),
			StartOverURL: d.Path(lang),
			Symptoms:     symptomLinks(p.Catalog, t.Catalog.Symptoms, lang),
		}))
	}
	// One turn of the answer service for the whole page: the replay of
	// the answers, the links that change one, keeping and counting.
	t, ctx, err := s.answers.Begin(ctx, "site")
	if err != nil {
		return err
	}
	defer t.End()
	st, err := flow.Settle(ctx, t.Evaluate, p, d, lang)
	if err != nil {
		return err
	}
	want := st.Diagnosis.Path(lang)
	if change != "" && st.Diagnosis.Answered(change) {
		want += changeSegment(change) + "/"
	} else {
		change = ""
	}
	if c.Request().URL.Path != want {
		if thanks {
			want += "?thanks=1"
		}
		return c.Redirect(http.StatusMovedPermanently, want)
	}
	// Insights count each state shown, once: not the page after feedback,
	// nor a Change page, which shows an answered question again.
	if !thanks && change == "" {
		s.countStep(st)
	}
	// An outcome is kept; a question page is an answer too (counted and
	// logged) but not kept. A reference once shown stays for this outcome
	// (reload, feedback, the other language, print): it is kept once, then
	// remembered.
	outcome := st.Next == nil && change == ""
	ref, shown := "", false
	if outcome {
		ref, shown = s.shownReference(c, p.Revision, st.Diagnosis)
		st.Response.Reference = ref
	}
	if err := t.Finish(ctx, p, st.Diagnosis.Request(), &st.Response, outcome && !shown); err != nil {
		return err
	}
	if outcome && !shown {
		s.rememberReference(c, p.Revision, st.Diagnosis, st.Response.Reference)
	}
	page := s.DiagnosePage(ctx, t.Evaluate, p, st, change, web.CSRFToken(c), thanks)
	return web.Render(c, http.StatusOK, templates.Diagnose(page))
}

// changeSegment is the last segment of the page that asks the answered
// question about fact again: change-<fact>. Fact names are snake_case and
// answers are fact=value, so it can be neither.
func changeSegment(fact string) string { return "change-" + fact }

// changeOf is the fact a path's last segment asks to change, if any.
func changeOf(segments []string) string {
	for i := len(segments) - 1; i >= 0; i-- {
		if segments[i] == "" {
			continue
		}
		fact, _ := strings.CutPrefix(segments[i], "change-")
		if fact == segments[i] {
			return ""
		}
		return fact
	}
	return ""
}

// A reference, once shown, stays: the outcome page remembers the
// reference it showed in a cookie (RefCookie), bound to that outcome's
// state (the revision, the symptom and the answers, whatever the
// language) and signed with the server's secret. When the same outcome is
// shown again to the same browser (a reload, the page after sending
// feedback, the other language, printing), the reference and the decision
// kept under it are re-used; any other outcome draws a new reference and
// keeps a new decision. The cookie holds no answer and no personal data
// (only the reference and a hash of the state), and nothing of it enters a
// URL. A server with no store keeps no decision and signs nothing, so it
// draws a new reference each time, and the static export derives the
// reference from the state (flow.StateReference).
const RefCookie = "acceso_ref"

// stateKey names an outcome state whatever the language it is shown in.
func stateKey(revision string, d flow.Diagnosis) string {
	sum := sha256.Sum256([]byte(revision + "\x00" + strings.TrimPrefix(d.Path(""), "//diagnose/")))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (s *Server) referenceMAC(ref, key string) string {
	m := hmac.New(sha256.New, s.feedbackKey)
	m.Write([]byte("reference\x00" + ref + "\x00" + key))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// shownReference is the reference this browser was shown for the outcome
// of d under revision, if the cookie holds one signed by this server.
func (s *Server) shownReference(c echo.Context, revision string, d flow.Diagnosis) (string, bool) {
	ck, err := c.Cookie(RefCookie)
	if err != nil || s.feedbackKey == nil || s.cfg.Static {
		return "", false
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 3 {
		return "", false
	}
	ref, ok := knowledge.NormalizeReference(parts[0])
	key := stateKey(revision, d)
	if !ok || ref != parts[0] || parts[1] != key || !hmac.Equal([]byte(parts[2]), []byte(s.referenceMAC(ref, key))) {
		return "", false
	}
	return ref, true
}

// rememberReference sets the cookie that keeps ref for the outcome of d.
func (s *Server) rememberReference(c echo.Context, revision string, d flow.Diagnosis, ref string) {
	if s.feedbackKey == nil || s.cfg.Static {
		return
	}
	key := stateKey(revision, d)
	c.SetCookie(&http.Cookie{Name: RefCookie, Value: ref + "." + key + "." + s.referenceMAC(ref, key), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: web.Secure(c)})
}

// DiagnosePage is the view of a settled diagnosis: the next question (or,
// with change, an answered one asked again) with its progress and its
// answers as links, then the findings so far in a line and the answers so
// far; or, at the end, the outcome leading with its result, the findings'
// advice, the things to try, the handoff and the feedback form. eval
// settles where a changed answer leads: the page's own turn of the answer
// service, so those evaluations are bounded and counted like the page's.
func (s *Server) DiagnosePage(ctx context.Context, eval flow.Evaluator, p *rules.Policy, st flow.State, change, csrfToken string, thanks bool) templates.DiagnosePage {
	lang := locales.Lang(ctx)
	l := locales.FromContext(ctx)
	here := st.Diagnosis.Path(lang)
	symptom := l.T(locales.SymptomTitle(st.Diagnosis.Symptom))
	page := templates.DiagnosePage{
		StartOverURL: flow.Diagnosis{Topic: st.Diagnosis.Topic}.Path(lang),
		Symptom:      st.Diagnosis.Symptom,
	}
	causes := make([]string, 0, len(st.Response.Findings))
	for _, f := range st.Response.Findings {
		page.Findings = append(page.Findings, s.causeView(p.Catalog, lang, f.ID, f.Title, f.Advice))
		causes = append(causes, f.ID)
	}
	for _, t := range st.Response.ToTry {
		page.ToTry = append(page.ToTry, s.causeView(p.Catalog, lang, t.ID, t.Title, t.Advice))
	}
	for _, a := range st.Diagnosis.Answers {
		page.Answers = append(page.Answers, templates.DiagnoseAnswer{Fact: a.Fact, Labels: a.Labels(),
			ChangeURL: here + changeSegment(a.Fact) + "/", Changing: a.Fact == change})
	}
	if change != "" || st.Next != nil {
		page.Question = s.questionView(l, p.Catalog, st, change, func(d flow.Diagnosis) string {
			// A changed answer leads straight to the state it amounts to,
			// which a static host needs (it cannot redirect).
			if settled, err := flow.Settle(ctx, eval, p, d, lang); err == nil {
				return settled.Diagnosis.Path(lang)
			}
			return d.Path(lang)
		})
		title := page.Question.Text + " (" + progressText(l, page.Question.Step, page.Question.Of) + ")"
		at := here
		if change != "" {
			at += changeSegment(change) + "/"
		}
		page.Shell = s.shell(ctx, p, title+" · "+symptom, strings.TrimPrefix(at, "/"+lang+"/"), "diagnose")
		page.Shell.Description = l.T(locales.SymptomDescription(st.Diagnosis.Symptom))
		page.Shell.NoIndex = change != ""
		return page
	}
	ref := st.Response.Reference
	if s.cfg.Static {
		ref = flow.StateReference(st.Response.PolicyRevision, st.Diagnosis)
	}
	page.Outcome = outcomeView(l, st.Response)
	page.Shell = s.shell(ctx, p, page.Outcome.Title+" · "+symptom, strings.TrimPrefix(here, "/"+lang+"/"), "diagnose")
	page.Shell.Description = l.T(locales.SymptomDescription(st.Diagnosis.Symptom))
	page.Handoff = s.handoffView(l, p, st, ref)
	page.Feedback = s.feedbackForm(here, templates.FeedbackForm{
		Action:    "/" + lang + "/feedback",
		CSRFToken: csrfToken,
		Page:      store.PageDiagnose,
		Causes:    strings.Join(causes, " "),
		Revision:  st.Response.PolicyRevision,
		Back:      here,
		Reference: ref,
		Reactions: store.Reactions,
		Thanks:    thanks,
	})
	return page
}

// progressText is "Question step of of" in l's language.
func progressText(l locales.Localizer, step, of int) string {
	return l.T("DiagnoseProgressQuestion") + " " + strconv.Itoa(step) + " " + l.T("DiagnoseProgressOf") + " " + strconv.Itoa(of)
}

// outcomeView says the result first: the causes found; else what to try;
// else that what the contact can check is fine and who checks the rest;
// else that no known cause fits.
func outcomeView(l locales.Localizer, r answer.Response) *templates.DiagnoseOutcome {
	o := &templates.DiagnoseOutcome{ToTryHeading: l.T("ToTryHeading")}
	count := func(id string, n int) string { return strings.ReplaceAll(l.T(id), "{n}", strconv.Itoa(n)) }
	switch {
	case len(r.Findings) == 1:
		o.Title = strings.ReplaceAll(l.T("OutcomeFoundOneTitle"), "{cause}", r.Findings[0].Title)
		o.Lead = l.T("OutcomeFoundLead")
		o.ToTryHeading = l.T("ToTryAlsoHeading")
	case len(r.Findings) > 1:
		o.Title = count("OutcomeFoundManyTitle", len(r.Findings))
		o.Lead = l.T("OutcomeFoundLead")
		o.ToTryHeading = l.T("ToTryAlsoHeading")
	case len(r.ToTry) == 1:
		o.Title, o.Lead = l.T("OutcomeTryOneTitle"), l.T("OutcomeTryLead")
	case len(r.ToTry) > 1:
		o.Title, o.Lead = count("OutcomeTryManyTitle", len(r.ToTry)), l.T("OutcomeTryLead")
	case r.Outcome == knowledge.OutcomeNeedsAnswers:
		o.Title, o.Lead = l.T("OutcomeAllFineTitle"), l.T("OutcomeAllFineLead")
	default:
		o.Title, o.Lead = l.T("OutcomeNoKnownCauseTitle"), l.T("OutcomeNoKnownCauseAdvice")
	}
	return o
}

// handoffView is the way forward, to the contact: a heading that fits the
// symptom, the reference, what support will check (the questions only an
// administrator can answer, in the contact's words), and whom to ask, with
// the reference on the support page's address and in the mail's subject,
// and the summary of the answers in the mail's body.
func (s *Server) handoffView(l locales.Localizer, p *rules.Policy, st flow.State, ref string) *templates.Handoff {
	h := &templates.Handoff{Title: l.T("HandoffTitle"), Reference: ref, SupportEmail: s.cfg.SupportEmail}
	if t, ok := p.Texts.Text(l.Lang, locales.ID("Handoff", st.Diagnosis.Symptom, "Title")); ok {
		h.Title = t
	}
	for _, q := range st.Response.Questions {
		if q.AskedOf != knowledge.AskedOfAdmin {
			continue
		}
		check, ok := p.Texts.Text(l.Lang, locales.ID("SupportChecks", q.Fact, ""))
		if !ok {
			check = q.Text
		}
		h.Checks = append(h.Checks, check)
	}
	if u := s.cfg.SupportURL; u != "" {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		h.SupportURL = u + sep + "ref=" + url.QueryEscape(ref)
	}
	if s.cfg.SupportEmail != "" {
		var body strings.Builder
		body.WriteString(l.T("HandoffReferenceLabel") + " " + ref + "\n")
		body.WriteString(l.T("HandoffMailProblem") + " " + l.T(locales.SymptomTitle(st.Diagnosis.Symptom)) + "\n")
		if len(st.Diagnosis.Answers) > 0 {
			body.WriteString(l.T("HandoffMailAnswers") + "\n")
			for _, a := range st.Diagnosis.Answers {
				labels := make([]string, len(a.Labels()))
				for i, id := range a.Labels() {
					labels[i] = l.T(id)
				}
				body.WriteString("- " + l.T(locales.Question(a.Fact)) + " " + strings.Join(labels, l.T("AnswerJoin")) + "\n")
			}
		}
		subject := strings.ReplaceAll(l.T("HandoffMailSubject"), "{ref}", ref)
		h.MailtoURL = "mailto:" + s.cfg.SupportEmail + "?subject=" + mailEscape(subject) + "&body=" + mailEscape(body.String())
	}
	return h
}

// mailEscape escapes a mailto: header value (RFC 6068): spaces as %20,
// not +.
func mailEscape(v string) string { return strings.ReplaceAll(url.QueryEscape(v), "+", "%20") }

// causeView is a finding or a thing to try as the page shows it: with the
// page that explains it to the contact, and that page's absolute address
// for print when the site's public address is known.
func (s *Server) causeView(cat knowledge.Catalog, lang, id, title, advice string) templates.DiagnoseFinding {
	v := templates.DiagnoseFinding{Title: title, Advice: advice, URL: s.CauseURL(cat, lang, id)}
	if base := strings.TrimSuffix(s.cfg.BaseURL, "/"); base != "" {
		v.PrintURL = base + v.URL
	}
	return v
}

// CauseURL is where a contact reads what a cause means and what to do:
// its anchor on its topic's contacts' page (rules/<topic>/help.<lang>.md),
// which every cause of a built policy has.
func (s *Server) CauseURL(cat knowledge.Catalog, lang, cause string) string {
	return HelpURL(cat, lang, cause)
}

// HelpURL is the address of a cause's explanation to contacts, on its
// topic's page.
func HelpURL(cat knowledge.Catalog, lang, cause string) string {
	return "/" + lang + answer.TopicPath(cat, cat.TopicOfCause(cause)) + "/help#" + cause
}

// questionView is the next question of a settled diagnosis, or, with
// change, the answered question about that fact asked again with the
// current answer marked: its texts, its answers as links to the states
// they lead to (a changed answer keeps the others; Settle drops those that
// no longer apply), and its progress (its number, and the most there can
// be: the answers so far and the contact's questions the engine still
// has).
func (s *Server) questionView(l locales.Localizer, cat knowledge.Catalog, st flow.State, change string, pathOf func(flow.Diagnosis) string) *templates.DiagnoseQuestion {
	lang := l.Lang
	v := &templates.DiagnoseQuestion{}
	remaining := 0
	for _, other := range st.Response.Questions {
		if other.AskedOf == knowledge.AskedOfContact && !st.Diagnosis.Answered(other.Fact) {
			remaining++
		}
	}
	v.Of = len(st.Diagnosis.Answers) + remaining
	if change == "" {
		q := st.Next
		f, _ := cat.Fact(q.Fact)
		v.Fact, v.Text, v.Help, v.Step = q.Fact, q.Text, q.Help, len(st.Diagnosis.Answers)+1
		for _, o := range flow.Options(f) {
			v.Options = append(v.Options, templates.AnswerLink{URL: st.Diagnosis.With(o.Reply).Path(lang), Labels: o.Labels})
		}
		return v
	}
	f, _ := cat.Fact(change)
	v.Text, v.Help = l.T(locales.Question(change)), l.T(locales.QuestionHelp(change))
	current, _ := st.Diagnosis.ReplyTo(change)
	v.Fact, v.Step = change, slices.IndexFunc(st.Diagnosis.Answers, func(a flow.Reply) bool { return a.Fact == change })+1
	v.Changing = true
	for _, o := range flow.Options(f) {
		v.Options = append(v.Options, templates.AnswerLink{URL: pathOf(st.Diagnosis.Replace(o.Reply)), Labels: o.Labels,
			Current: slices.Equal(o.Reply.Values, current.Values)})
	}
	return v
}

// DiagnosisOfPath reads the diagnosis of a canonical path in lang (in any
// topic), as a feedback form sends it back.
func DiagnosisOfPath(cat knowledge.Catalog, lang, path string) (flow.Diagnosis, error) {
	for _, topic := range cat.TopicNames() {
		seg := flow.TopicSegment(cat, topic)
		rest, ok := strings.CutPrefix(path, flow.Diagnosis{Topic: seg}.Path(lang))
		if !ok {
			continue
		}
		d, err := flow.ParsePath(cat, strings.Split(rest, "/"))
		if err != nil || d.Symptom == "" || d.Topic != seg {
			return flow.Diagnosis{}, answer.BadField("back")
		}
		return d, nil
	}
	return flow.Diagnosis{}, answer.BadField("back")
}

// feedbackForm is the feedback form of the page at path: the form itself
// on the live site; in the static export, a link to the page on the live
// site when its address is known, else nothing.
func (s *Server) feedbackForm(path string, f templates.FeedbackForm) *templates.FeedbackForm {
	if !s.cfg.Static {
		return &f
	}
	if s.cfg.BaseURL == "" {
		return nil
	}
	return &templates.FeedbackForm{Link: strings.TrimSuffix(s.cfg.BaseURL, "/") + path}
}

// countStep counts a state of the self-diagnosis shown on the site, for
// the insights: its symptom, the question it asks (none at an outcome),
// the fact answered just before and whether that answer was "I don't
// know". Never the answers' values, never who.
func (s *Server) countStep(st flow.State) {
	if s.steps == nil {
		return
	}
	step := store.Step{Day: store.Day(s.now()), Revision: st.Response.PolicyRevision, Symptom: st.Diagnosis.Symptom}
	if st.Next != nil {
		step.Asked = st.Next.Fact
	}
	if n := len(st.Diagnosis.Answers); n > 0 {
		last := st.Diagnosis.Answers[n-1]
		step.Answered, step.Unknown = last.Fact, last.Unknown()
	}
	s.steps.Count(step)
}
