package server

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"acceso/locales"
	"acceso/publish"
)

// TestAdminRefusesIssue17Probes publishes, and checks, from the admin
// area's editor each probe of issue 17: the builtins that took the server
// down or ran past the deadline, and a template loop in a message file.
// Each is refused with 422 naming its file and line, and nothing is
// published.
func TestAdminRefusesIssue17Probes(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{}, publish.Config{Deadline: loadedDeadline})
	a := signedInAdmin(t, ts)
	served := ts.engine.Current()
	const causes = "rules/login/causes.rego"
	module := served.Source.Modules[causes]
	// The call is on the second line of the helper appended to the module.
	callLine := strings.Count(strings.TrimRight(module, "\n")+"\n\n", "\n") + 2
	probes := []struct{ name, file, text, want string }{}
	for _, p := range []struct{ builtin, call string }{
		{"bits.lsh", `bits.lsh(1, input.facts.codes_requested)`},
		{"graph.reachable_paths", `graph.reachable_paths({"a": ["b"], "b": ["a"]}, {"a"})`},
		{"strings.render_template", `strings.render_template("{{range 20000000}}x{{end}}", {})`},
		{"json.marshal_with_options", `json.marshal_with_options([1], {"pretty": true, "indent": "    "})`},
		{"time.format", `time.format([0, "Local", "MST"])`},
	} {
		text := strings.TrimRight(module, "\n") + "\n\n_probe := x if {\n\tx := " + p.call + "\n}\n"
		probes = append(probes, struct{ name, file, text, want string }{p.builtin, causes, text,
			causes + ":" + strconv.Itoa(callLine) + "</code>: undefined function " + p.builtin})
	}
	messages := locales.Path("es")
	es := string(served.Source.Messages[locales.FileName("es")])
	const link = `other = "Empezar el diagnóstico paso a paso"`
	i := strings.Index(es, link)
	if i < 0 {
		t.Fatalf("no %s in %s", link, messages)
	}
	probes = append(probes, struct{ name, file, text, want string }{"template loop", messages,
		es[:i] + `other = "{{range 3}}x{{end}}"` + es[i+len(link):],
		messages + ":" + strconv.Itoa(strings.Count(es[:i], "\n")+1) + "</code>: message HomeDiagnoseLink holds {{range 3}}"})

	for _, p := range probes {
		for _, action := range []string{"preview", "publish"} {
			t.Run(p.name+"/"+action, func(t *testing.T) {
				page := "/admin/module?file=" + url.QueryEscape(p.file)
				resp, body := a.submit(t, page, "/admin/module", url.Values{"file": {p.file}, "text": {p.text}, "action": {action}})
				if resp.StatusCode != 422 || !strings.Contains(body, p.want) {
					t.Errorf("%s of %s = %d; want 422 with %q\n%.2000s", action, p.name, resp.StatusCode, p.want, body)
				}
				if ts.engine.Current() != served {
					t.Fatalf("%s of %s changed the rules being served", action, p.name)
				}
			})
		}
	}
}
