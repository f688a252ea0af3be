package server

import (
	"encoding/json"
	"html"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"acceso/knowledge"
	"acceso/locales"
	"acceso/publish"
	"acceso/rules"
)

// The new fact and cause an admin adds in TestExtendWithoutGo, as text
// under a --rules folder: its declaration, the cause (metadata on the
// default rule, then its verdict), a Rego test, and its texts.
const (
	browserFact = `	"browser_updated": {
		"type": "boolean", "asked_of": "contact",
		"description": "The browser is up to date.",
	},
`
	browserCause = `
# METADATA
# title: An outdated browser
# description: An outdated browser may not keep the platform's cookies.
default cause.code_needed_often.outdated_browser := "open"

cause.code_needed_often.outdated_browser := "likely" if {
	input.facts.browser_updated == false
} else := "ruled_out" if {
	input.facts.browser_updated == true
}
`
	browserTestHeader = "package login_test\n\nimport data.login\n"
	browserTest       = `
test_outdated_browser_is_found_and_ruled_out if {
	login.cause.code_needed_often.outdated_browser == "likely" with input as {"facts": {"browser_updated": false}}
	login.cause.code_needed_often.outdated_browser == "ruled_out" with input as {"facts": {"browser_updated": true}}
	login.cause.code_needed_often.outdated_browser == "open" with input as {"facts": {}}
}
`
	// browserTestFile is the new cause's own test file in a --rules folder:
	// adding the fact and the cause changes no existing test. The admin
	// area edits the files a revision has, so there the test is added at
	// the end of causes_test.rego (browserTestIn).
	browserTestFile   = "rules/login/outdated_browser_test.rego"
	browserTestIn     = "rules/login/causes_test.rego"
	browserQuestionEN = "Is your browser up to date?"
)

// browserArticle is the new cause's section in the admins' article, by
// file name.
var browserArticle = map[string]string{
	"article.es.md": "**Un navegador desactualizado.** Pide al contacto que actualice el navegador.",
	"article.en.md": "**An outdated browser.** Ask the contact to update the browser.",
}

var browserTexts = map[string][]locales.Message{
	"es": {
		{ID: "CauseOutdatedBrowserTitle", Description: "t", Text: "Un navegador desactualizado"},
		{ID: "CauseOutdatedBrowserAdvice", Description: "a", Text: "Actualiza el navegador y vuelve a entrar."},
		{ID: "QuestionBrowserUpdated", Description: "q", Text: "¿Tu navegador está actualizado?"},
		{ID: "QuestionHelpBrowserUpdated", Description: "h", Text: "Busca «Acerca de» en el menú del navegador."},
	},
	"en": {
		{ID: "CauseOutdatedBrowserTitle", Description: "t", Text: "An outdated browser"},
		{ID: "CauseOutdatedBrowserAdvice", Description: "a", Text: "Update your browser and log in again."},
		{ID: "QuestionBrowserUpdated", Description: "q", Text: browserQuestionEN},
		{ID: "QuestionHelpBrowserUpdated", Description: "h", Text: "Look for About in the browser's menu."},
	},
}

// extendedFiles are the files an admin changes (newTestFile: the cause's
// test in a file of its own, else added to causes_test.rego) to add the browser_updated
// fact and the outdated_browser cause, edited as text from the built-in
// rules and texts: path (as publish.Files names them) to edited text.
func extendedFiles(tb testing.TB, newTestFile bool) map[string]string {
	tb.Helper()
	src := rules.Embedded()
	edited := make(map[string]string)
	for path, text := range src.Modules {
		name := filepath.Base(path)
		switch name {
		case "facts.rego":
			end := strings.LastIndex(text, "}")
			text = text[:end] + browserFact + text[end:]
		case "causes.rego":
			text += browserCause
		}
		if text != src.Modules[path] {
			edited[path] = text
		}
	}
	for path, text := range src.Docs {
		edited[path] = strings.TrimRight(text, "\n") + "\n\n{#outdated_browser} " + browserArticle[filepath.Base(path)] + "\n"
	}
	if newTestFile {
		edited[browserTestFile] = browserTestHeader + browserTest
	} else {
		edited[browserTestIn] = src.Modules[browserTestIn] + browserTest
	}
	for _, lang := range locales.Languages {
		file, err := locales.SetMessages(src.Messages[locales.FileName(lang)], browserTexts[lang]...)
		if err != nil {
			tb.Fatalf("SetMessages(%s) = %v", locales.Path(lang), err)
		}
		edited[locales.Path(lang)] = string(file)
	}
	return edited
}

// extendedRules writes a --rules folder: the built-in rules and texts with
// the browser_updated fact and the outdated_browser cause added, as an
// admin would, by editing text and message files only.
func extendedRules(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := publish.Files(rules.Embedded())
	maps.Copy(files, extendedFiles(t, true))
	for path, text := range files {
		name := filepath.Join(dir, strings.TrimPrefix(path, "rules/"))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestExtendWithoutGo adds a fact and a cause that uses it with changes
// to a --rules folder only, serves it, and shows every consumer of the
// declarations taking it up: validation, OpenAPI, the catalog, the API's
// findings and the site's questions.
func TestExtendWithoutGo(t *testing.T) {
	t.Parallel()
	checkExtended(t, serveRulesDir(t, extendedRules(t), Config{}))
}

// checkExtended shows every consumer of the fact declarations taking up
// the browser_updated fact and the outdated_browser cause that ts serves:
// validation, OpenAPI, the catalog, the API's findings and the site's
// questions.
func checkExtended(t *testing.T, ts *testServer) {
	t.Run("the validator accepts the fact and names a misspelt one", func(t *testing.T) {
		resp, body := ts.do(t, evaluate(`{"symptom":"code_needed_often","facts":{"browser_updated":true}}`))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("POST browser_updated = %d %s; want 200", resp.StatusCode, body)
		}
		resp, body = ts.do(t, evaluate(`{"symptom":"code_needed_often","facts":{"browser_updatd":true}}`))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "browser_updatd") {
			t.Errorf("POST browser_updatd = %d %s; want 400 naming the field", resp.StatusCode, body)
		}
	})

	t.Run("OpenAPI's Facts schema lists it", func(t *testing.T) {
		resp, body := ts.do(t, call{path: "/api/openapi.json"})
		var doc struct {
			Components struct {
				Schemas struct {
					Facts struct {
						Properties map[string]struct {
							Type string `json:"type"`
						} `json:"properties"`
					} `json:"Facts"`
				} `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(body, &doc); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET /api/openapi.json = %d, %v", resp.StatusCode, err)
		}
		if p, ok := doc.Components.Schemas.Facts.Properties["browser_updated"]; !ok || p.Type != "boolean" {
			t.Errorf("Facts.properties.browser_updated = %+v, %v; want a boolean", p, ok)
		}
	})

	t.Run("the catalog lists the fact and the cause", func(t *testing.T) {
		resp, body := ts.do(t, call{path: "/api/v1/causes?lang=en"})
		var cat struct {
			Causes []struct{ ID, Symptom, Title string } `json:"causes"`
			Facts  []struct {
				Name    string `json:"name"`
				AskedOf string `json:"asked_of"`
			} `json:"facts"`
		}
		if err := json.Unmarshal(body, &cat); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET /api/v1/causes = %d, %v", resp.StatusCode, err)
		}
		i := slices.IndexFunc(cat.Facts, func(f struct {
			Name    string `json:"name"`
			AskedOf string `json:"asked_of"`
		}) bool {
			return f.Name == "browser_updated"
		})
		if i < 0 || cat.Facts[i].AskedOf != knowledge.AskedOfContact {
			t.Errorf("causes: facts = %+v; want browser_updated asked of the contact", cat.Facts)
		}
		if !slices.ContainsFunc(cat.Causes, func(c struct{ ID, Symptom, Title string }) bool {
			return c.ID == "outdated_browser" && c.Symptom == "code_needed_often" && c.Title == "An outdated browser"
		}) {
			t.Errorf("causes: %+v; want outdated_browser under code_needed_often", cat.Causes)
		}
	})

	t.Run("the API finds the cause", func(t *testing.T) {
		resp, body := ts.do(t, evaluate(`{"symptom":"code_needed_often","facts":{"browser_updated":false}}`))
		var ans struct {
			Outcome  string `json:"outcome"`
			Findings []struct {
				ID      string   `json:"id"`
				Because []string `json:"because"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(body, &ans); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("POST /api/v1/evaluate = %d %s, %v", resp.StatusCode, body, err)
		}
		if ans.Outcome != "causes_found" || len(ans.Findings) != 1 || ans.Findings[0].ID != "outdated_browser" ||
			!slices.Equal(ans.Findings[0].Because, []string{"browser_updated"}) {
			t.Errorf("evaluate(browser_updated=false) = %s; want outdated_browser because browser_updated", body)
		}
	})

	t.Run("the site asks it", func(t *testing.T) {
		// The query form; it keeps working or redirects to the path form,
		// which the client follows.
		resp, body := ts.do(t, call{path: "/en/diagnose?symptom=code_needed_often&incognito=no&cookies_autodelete=no&new_device=no"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET diagnose = %d; want 200", resp.StatusCode)
		}
		if page := html.UnescapeString(string(body)); !strings.Contains(page, browserQuestionEN) {
			t.Errorf("GET diagnose (%s): the page does not ask %q", resp.Request.URL, browserQuestionEN)
		}
	})
}
