package admin

import (
	"bytes"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"acceso/flow"
	"acceso/locales"
	"acceso/server/web"
	"acceso/templates"
)

// handleFlow shows the map of the self-diagnosis the rules being served
// give, as nested lists, in the contact's words of the admin's language.
func (a *Area) handleFlow(c echo.Context) error {
	ctx := c.Request().Context()
	p := a.engine.Current()
	m, err := a.flowMap(ctx, p)
	if err != nil {
		return err
	}
	t := flow.NewTexts(locales.NewLocalizer(p.Texts, locales.Lang(ctx)))
	page := templates.AdminFlow{Shell: a.shell(c, "AdminFlowTitle", "flow")}
	for _, tr := range m.Trees {
		page.Trees = append(page.Trees, templates.AdminFlowTree{
			Symptom: tr.Symptom, Title: t.Symptom(tr.Symptom), States: len(tr.Nodes), Root: flowView(tr, t, 0, nil),
		})
	}
	return web.Render(c, http.StatusOK, templates.AdminFlowPage(page))
}

// flowView is node i of a tree as the page shows it, found being the
// causes found before it.
func flowView(tr flow.Tree, t flow.Texts, i int, found []string) templates.AdminFlowNode {
	n := tr.Nodes[i]
	v := templates.AdminFlowNode{Outcome: n.Outcome}
	for _, id := range n.Findings {
		if !slices.Contains(found, id) {
			v.Added = append(v.Added, t.Cause(id))
		}
	}
	if n.Question == "" {
		for _, f := range n.AdminChecks {
			v.AdminChecks = append(v.AdminChecks, t.Question(f))
		}
		return v
	}
	v.Question = t.Question(n.Question)
	for _, e := range n.Edges {
		v.Edges = append(v.Edges, templates.AdminFlowEdge{Answer: t.Answer(e.Reply), To: flowView(tr, t, e.To, n.Findings)})
	}
	return v
}

// handleFlowText is the map as plain text, as `acceso rules map` prints it.
func (a *Area) handleFlowText(c echo.Context) error {
	ctx := c.Request().Context()
	p := a.engine.Current()
	m, err := a.flowMap(ctx, p)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := m.WriteText(&b, flow.NewTexts(locales.NewLocalizer(p.Texts, locales.Lang(ctx)))); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", b.Bytes())
}
