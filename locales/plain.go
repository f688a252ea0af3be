package locales

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// MaxText is the most bytes one text of a message file may hold: seven
// times the longest text Acceso ships (266 bytes). A page shows a few dozen
// texts, so no text can make a page heavy on its own.
const MaxText = 2000

// TextProblem is a text a message file may not hold, at its file and line.
type TextProblem struct {
	File    string // the message file's path, locales/active.<lang>.toml
	Line    int
	Message string
}

// TextProblems are the problems of a set of message files; Parse returns
// them, before any text is used.
type TextProblems []TextProblem

func (ps TextProblems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return strings.Join(lines, "\n")
}

// placeholder is the only template syntax a text may use: a named value,
// as go-i18n writes it ({{.Name}}).
var placeholder = regexp.MustCompile(`^\{\{\s*\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}$`)

// action finds whatever a text holds between template delimiters.
var action = regexp.MustCompile(`\{\{.*?\}\}`)

// bidi are the characters that reorder the text around them: embeddings
// and overrides (U+202A–U+202E), isolates (U+2066–U+2069) and the marks
// U+200E, U+200F and U+061C. A text holding one could show one thing and
// say another, on the site and in the export.
func bidi(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}

// checkPlain checks the texts of one parsed message file: plain text with
// named placeholders only (no template actions: a {{range}} ran when the
// file was read), at most MaxText bytes, and no bidi control character.
// Each problem is at the line of the file that holds it.
func checkPlain(name string, file []byte, messages []*i18n.Message) TextProblems {
	path := "locales/" + name
	var problems TextProblems
	for _, m := range messages {
		for _, text := range []string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other} {
			if text == "" {
				continue
			}
			at := func(fragment string) int { return lineOf(file, m.ID, fragment) }
			if len(text) > MaxText {
				problems = append(problems, TextProblem{path, at(""), fmt.Sprintf("message %s is %d bytes; a text may hold at most %d", m.ID, len(text), MaxText)})
			}
			if i := strings.IndexFunc(text, bidi); i >= 0 {
				r := []rune(text[i:])[0]
				problems = append(problems, TextProblem{path, at(string(r)), fmt.Sprintf("message %s holds the bidi control character U+%04X, which reorders the text around it; remove it", m.ID, r)})
			}
			for _, a := range action.FindAllString(text, -1) {
				if !placeholder.MatchString(a) {
					problems = append(problems, TextProblem{path, at(a), fmt.Sprintf("message %s holds %s: texts are plain, with named placeholders such as {{.Name}} only, no template actions", m.ID, a)})
				}
			}
			rest := action.ReplaceAllString(text, "")
			if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
				problems = append(problems, TextProblem{path, at("{{"), fmt.Sprintf("message %s holds an unclosed {{ or a stray }}: texts are plain, with named placeholders such as {{.Name}} only", m.ID)})
			}
		}
	}
	return problems
}

// lineOf finds the line of file where message id holds fragment: the first
// line holding it at or after the message's own line (its table header or
// its key), else the line of its text (other = …), else the message's line.
func lineOf(file []byte, id, fragment string) int {
	lines := strings.Split(string(file), "\n")
	start := -1
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if t == "["+id+"]" || strings.HasPrefix(t, id+" ") || strings.HasPrefix(t, id+"=") {
			start = i
			break
		}
	}
	if start < 0 {
		start = 0
	}
	if fragment != "" {
		for i := start; i < len(lines); i++ {
			if strings.Contains(lines[i], fragment) {
				return i + 1
			}
		}
	}
	for i := start + 1; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "["); i++ {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), "other") {
			return i + 1
		}
	}
	return start + 1
}
