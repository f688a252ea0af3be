package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/knowledge"
	"acceso/publish"
	"acceso/rules"
	"acceso/server/web"
	"acceso/store"
	"acceso/templates"
)

// An admin's draft is the files of the rules (Rego modules and message
// files) that the admin has changed and saved from the module editor, kept
// in the store until they are published together, as one revision, or
// discarded. Adding a fact and a cause that uses it changes several files
// that each fail the checks alone; the draft is how they are checked and
// served whole.

// handleDraft shows the admin's draft: its files, what they change, and
// the form that checks and publishes them.
func (a *Area) handleDraft(c echo.Context) error {
	p := a.engine.Current()
	return a.renderDraft(c, http.StatusOK, templates.AdminDraft{Base: p.Revision, Sample: defaultSample("", nil)})
}

func (a *Area) renderDraft(c echo.Context, status int, d templates.AdminDraft) error {
	files, err := a.store.DraftFiles(c.Request().Context(), SignedIn(c))
	if err != nil {
		return err
	}
	cur := a.engine.Current().Source
	page := templates.AdminDraftFiles{
		Shell:     a.shell(c, "AdminDraftTitle", "draft"),
		Discarded: c.QueryParam("discarded") != "" && len(files) == 0,
		Diff:      diffLines(publish.DraftDiff(cur, files)),
		Draft:     d,
	}
	served := publish.Files(cur)
	for _, f := range files {
		text, ok := served[f.Path]
		page.Files = append(page.Files, templates.AdminDraftFile{
			File: f.Path, Saved: f.Updated.Format(time.RFC3339), SavedText: f.Updated.Format("2006-01-02 15:04 MST"),
			// A new file (no base) conflicts once someone published it.
			Conflict: ok && text != f.Base || !ok && f.Base != "",
		})
	}
	// What was just done, said only while it is true: the address that
	// says it could be sent by anyone.
	inDraft := func(file string) bool {
		return slices.ContainsFunc(files, func(f store.DraftFile) bool { return f.Path == file })
	}
	if saved := c.QueryParam("saved"); inDraft(saved) {
		page.Saved = saved
	}
	if removed := c.QueryParam("removed"); removed != "" && !inDraft(removed) {
		page.Removed = removed
	}
	if kept := c.QueryParam("kept"); inDraft(kept) {
		page.Kept = kept
	}
	return web.Render(c, status, templates.AdminDraftPage(page))
}

// handleDraftSubmit checks the whole draft, or publishes it as one
// revision, which empties it. It is applied to the rules served now, and
// published only if they are still those when the publish takes its turn.
func (a *Area) handleDraftSubmit(c echo.Context) error {
	admin := SignedIn(c)
	files, err := a.store.DraftFiles(c.Request().Context(), admin)
	if err != nil {
		return err
	}
	cur := a.engine.Current()
	src, draftErr := publish.ApplyDraft(cur.Source, files)
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	ch := publish.Change{Base: cur.Revision, Note: "draft: " + strings.Join(paths, ", ")}
	return a.submit(c, src, draftErr, ch, func(status int, d templates.AdminDraft) error {
		return a.renderDraft(c, status, d)
	}, func(ctx context.Context) error { return a.store.DeleteDraft(ctx, admin) })
}

// saveToDraft keeps a file's text in the admin's draft. A file entering
// the draft gets as its base its text in the revision the editor was
// opened on, so that a change someone else published to it since shows as
// a conflict when the draft is checked, instead of being undone by it; a
// new file (added, so newFile) has none.
func (a *Area) saveToDraft(c echo.Context, file, text string, newFile bool) error {
	ctx := c.Request().Context()
	admin := SignedIn(c)
	d := templates.AdminDraft{Base: c.FormValue("base"), Sample: publish.NormalizeText(c.FormValue("sample"))}
	f := store.DraftFile{Path: file, Text: text, Updated: a.now().UTC()}
	_, err := a.store.DraftFile(ctx, admin, file)
	switch {
	case err == nil: // its base is kept
	case errors.Is(err, store.ErrNotFound) && newFile:
		// A new file (a topic's) has no base: publishing it undoes nothing.
	case errors.Is(err, store.ErrNotFound):
		if f.Base, err = a.baseText(ctx, d.Base, file); err != nil {
			d.Check.Done = true
			if err := a.showProblems(&d.Check, err, knowledge.Source{}); err != nil {
				return err
			}
			return a.renderModule(c, http.StatusUnprocessableEntity, templates.AdminModule{File: file, Text: text, Draft: d})
		}
	default:
		return err
	}
	if err := a.store.PutDraftFile(ctx, admin, f); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/draft?"+url.Values{"saved": {file}}.Encode())
}

// isNewFile reports whether file is a new file a draft may add (a
// topic's, publish.NewFile) that the rules served do not have.
func (a *Area) isNewFile(file string) bool {
	_, served := publish.Files(a.engine.Current().Source)[file]
	return !served && publish.NewFile(file) == nil
}

// handleDraftAdd adds a new file to the admin's draft: one of a new
// topic's files (publish.NewFile), which the rules served do not have.
// Anything else is refused, naming the file, on the draft page.
func (a *Area) handleDraftAdd(c echo.Context) error {
	file, text := strings.TrimSpace(c.FormValue("file")), publish.NormalizeText(c.FormValue("text"))
	var problem *knowledge.Problem
	if _, served := publish.Files(a.engine.Current().Source)[file]; served {
		problem = &knowledge.Problem{File: file, Message: "the rules have this file already: open it under Rules to change it"}
	} else {
		problem = publish.NewFile(file)
	}
	if problem != nil {
		d := templates.AdminDraft{Base: a.engine.Current().Revision, Sample: defaultSample("", nil)}
		d.Check.Done = true
		if err := a.showProblems(&d.Check, knowledge.Problems{*problem}, knowledge.Source{}); err != nil {
			return err
		}
		return a.renderDraft(c, http.StatusUnprocessableEntity, d)
	}
	return a.saveToDraft(c, file, text, true)
}

// baseText is the text file had in the revision base: the one served, or
// an earlier one the store keeps. A file no revision has, or a revision
// the store does not know, is a problem naming the file.
func (a *Area) baseText(ctx context.Context, base, file string) (string, error) {
	cur := a.engine.Current()
	src := cur.Source
	if base != cur.Revision {
		rev, err := a.store.RevisionByID(ctx, base)
		if errors.Is(err, store.ErrNotFound) {
			return "", knowledge.Problems{{File: file, Message: fmt.Sprintf(
				"the rules changed while you edited, from revision %q, which is not kept; open the file again and redo your change", base)}}
		}
		if err != nil {
			return "", err
		}
		src = rev.Source
	}
	text, ok := publish.Files(src)[file]
	if !ok {
		return "", knowledge.Problems{{File: file, Message: "no such module or message file"}}
	}
	return text, nil
}

// handleDraftRemove takes one file out of the admin's draft. A file the
// draft does not have is already out of it.
func (a *Area) handleDraftRemove(c echo.Context) error {
	file := c.FormValue("file")
	if file == "" {
		d := templates.AdminDraft{Base: a.engine.Current().Revision, Sample: defaultSample("", nil)}
		d.Check = templates.AdminCheck{Done: true, Problems: []templates.AdminProblem{{Where: "file", Message: "choose the file to remove from your draft"}}}
		return a.renderDraft(c, http.StatusUnprocessableEntity, d)
	}
	if err := a.store.DeleteDraftFile(c.Request().Context(), SignedIn(c), file); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/draft?"+url.Values{"removed": {file}}.Encode())
}

// handleDraftKeep keeps the admin's text of a drafted file over the change
// someone else published to it since: the file's base becomes the text
// served now, so the draft applies again, and its diff shows what the
// admin's text undoes of that change.
func (a *Area) handleDraftKeep(c echo.Context) error {
	ctx := c.Request().Context()
	file := c.FormValue("file")
	served, ok := publish.Files(a.engine.Current().Source)[file]
	if !ok {
		d := templates.AdminDraft{Base: a.engine.Current().Revision, Sample: defaultSample("", nil)}
		d.Check = templates.AdminCheck{Done: true, Problems: []templates.AdminProblem{{Where: "file", Message: "choose a file of your draft that the rules being served have"}}}
		return a.renderDraft(c, http.StatusUnprocessableEntity, d)
	}
	if err := a.store.RebaseDraftFile(ctx, SignedIn(c), file, served); errors.Is(err, store.ErrNotFound) {
		return c.Redirect(http.StatusSeeOther, "/admin/draft")
	} else if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/draft?"+url.Values{"kept": {file}}.Encode())
}

// handleDraftDiscard empties the admin's draft.
func (a *Area) handleDraftDiscard(c echo.Context) error {
	if err := a.store.DeleteDraft(c.Request().Context(), SignedIn(c)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/draft?discarded=1")
}

// withDraft is the rules being served, cur, with the admin's draft in
// place: what the forms that add to the draft add to.
func (a *Area) withDraft(c echo.Context, cur *rules.Policy) (knowledge.Source, error) {
	files, err := a.store.DraftFiles(c.Request().Context(), SignedIn(c))
	if err != nil {
		return knowledge.Source{}, err
	}
	return publish.WithDraft(cur.Source, files)
}

// saveChanges saves to the admin's draft every file whose text differs
// from before (cur's rules with the draft in place) to after, and leads
// to the draft. A file entering the draft gets its text in cur as its
// base, which is the text the change was made to.
func (a *Area) saveChanges(c echo.Context, cur *rules.Policy, before, after knowledge.Source) error {
	ctx := c.Request().Context()
	admin := SignedIn(c)
	served, drafted := publish.Files(cur.Source), publish.Files(after)
	changed := publish.ChangedFiles(before, after)
	now := a.now().UTC()
	for _, file := range changed {
		f := store.DraftFile{Path: file, Base: served[file], Text: drafted[file], Updated: now}
		if err := a.store.PutDraftFile(ctx, admin, f); err != nil {
			return err
		}
	}
	// The page names the module saved, the message files going with it.
	saved := ""
	for _, file := range changed {
		if saved == "" || isMessageFile(saved) {
			saved = file
		}
	}
	return c.Redirect(http.StatusSeeOther, "/admin/draft?"+url.Values{"saved": {saved}}.Encode())
}

// saveNewCause adds a new cause to the admin's draft: its rule, its tests
// and its texts go into the draft's files (the served ones for the files
// the draft does not have), to be checked and published with the rest of
// the draft. What the form's fields say wrong at once is shown on the
// form, as sent.
func (a *Area) saveNewCause(c echo.Context, nc publish.NewCause) error {
	cur := a.engine.Current()
	src, err := a.withDraft(c, cur)
	var draft knowledge.Source
	if err == nil {
		draft, err = publish.DraftNewCauseOn(cur.Catalog, src, nc)
	}
	if err != nil {
		d := templates.AdminDraft{Base: c.FormValue("base"), Sample: publish.NormalizeText(c.FormValue("sample"))}
		d.Check.Done = true
		if err := a.showProblems(&d.Check, err, src); err != nil {
			return err
		}
		return a.renderNewCause(c, http.StatusUnprocessableEntity, nc, d)
	}
	return a.saveChanges(c, cur, src, draft)
}

// handleNewFact shows the form to add a fact to the admin's draft.
func (a *Area) handleNewFact(c echo.Context) error {
	return a.renderNewFact(c, http.StatusOK, templates.AdminNewFact{Type: knowledge.TypeBoolean, AskedOf: knowledge.AskedOfContact})
}

func (a *Area) renderNewFact(c echo.Context, status int, page templates.AdminNewFact) error {
	page.Shell = a.shell(c, "AdminNewFactTitle", "draft")
	page.Types = publish.FactTypes()
	return web.Render(c, status, templates.AdminNewFactPage(page))
}

// handleNewFactSubmit adds a fact's declaration to the facts of the
// admin's draft and, for a fact someone is asked about, its question's
// texts, empty, to both message files, and leads to the draft, whose check
// names each text still to write. A mistaken field is named on the form,
// which comes back as sent.
func (a *Area) handleNewFactSubmit(c echo.Context) error {
	page := templates.AdminNewFact{
		Name: strings.TrimSpace(c.FormValue("name")), Type: c.FormValue("type"), Choices: c.FormValue("choices"),
		AskedOf: c.FormValue("asked_of"), Personal: c.FormValue("personal") == "true",
		Description: publish.NormalizeText(strings.TrimSpace(c.FormValue("description"))),
	}
	nf := publish.NewFact{Name: page.Name, Type: page.Type, AskedOf: page.AskedOf, Personal: page.Personal, Description: page.Description}
	switch page.AskedOf {
	case "none":
		nf.AskedOf = ""
	case "":
		nf.AskedOf = "?" // named as a choice to make
	}
	for choice := range strings.SplitSeq(page.Choices, ",") {
		if choice = strings.TrimSpace(choice); choice != "" {
			nf.Choices = append(nf.Choices, choice)
		}
	}
	cur := a.engine.Current()
	src, err := a.withDraft(c, cur)
	var draft knowledge.Source
	if err == nil {
		draft, err = publish.DraftNewFact(src, nf)
	}
	if err != nil {
		page.Check.Done = true
		if err := a.showProblems(&page.Check, err, src); err != nil {
			return err
		}
		return a.renderNewFact(c, http.StatusUnprocessableEntity, page)
	}
	return a.saveChanges(c, cur, src, draft)
}
