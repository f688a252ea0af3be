package server

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"acceso/locales"
	"acceso/rules"
)

// A draft is the source being served with one admin's change applied. The
// functions here make drafts; none of them decides whether a draft may be
// served: that is rules.Build's job, at preview and again at publish.

// causeTexts are a cause's title and advice in one language.
type causeTexts struct {
	Title, Advice string
}

// draftModule replaces the text of an existing module.
func draftModule(cur rules.Source, file, text string) (rules.Source, error) {
	if _, ok := cur.Modules[file]; !ok {
		return rules.Source{}, rules.Problems{{File: file, Message: "no such module"}}
	}
	draft := cur.Clone()
	draft.Modules[file] = normalizeText(text)
	return draft, nil
}

// draftCauseTexts sets a cause's title and advice in every language given.
func draftCauseTexts(cur rules.Source, cause string, texts map[string]causeTexts) (rules.Source, error) {
	if problems := checkCauseTexts(texts); len(problems) > 0 {
		return rules.Source{}, problems
	}
	draft := cur.Clone()
	for _, lang := range locales.Languages {
		t := texts[lang]
		name := locales.FileName(lang)
		file, err := setMessages(draft.Messages[name],
			message{locales.CauseTitle(cause), "Title of the cause " + cause, normalizeText(t.Title)},
			message{locales.CauseAdvice(cause), "Advice for the cause " + cause, normalizeText(t.Advice)})
		if err != nil {
			return rules.Source{}, rules.Problems{{File: locales.Path(lang), Message: err.Error()}}
		}
		draft.Messages[name] = file
	}
	return draft, nil
}

// newCause is what an admin gives to add a cause: the module its rule goes
// into, its id, the rule (with its # METADATA), optional Rego tests for the
// module's _test.rego, and its texts in every language.
type newCause struct {
	Module string
	ID     string
	Rule   string
	Tests  string
	Texts  map[string]causeTexts
}

var causeID = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// draftNewCause appends a new cause's rule to its module, its tests to the
// module's tests and its texts to the message files. The rule's metadata
// is read here only to give a clear message early; that the built draft
// declares the cause is checked by checkNewCause.
func draftNewCause(cur *rules.Policy, nc newCause) (rules.Source, error) {
	var problems rules.Problems
	if c, ok := cur.Catalog.Cause(nc.ID); ok {
		problems = append(problems, rules.Problem{File: c.File, Line: c.Line, Message: fmt.Sprintf("cause %s already exists; edit its texts instead", nc.ID)})
	}
	if !causeID.MatchString(nc.ID) {
		problems = append(problems, rules.Problem{File: nc.Module, Message: fmt.Sprintf("cause id %q must be snake_case (lower-case letters, digits and single underscores)", nc.ID)})
	}
	if _, ok := cur.Source.Modules[nc.Module]; !ok || isTestModule(nc.Module) {
		problems = append(problems, rules.Problem{File: nc.Module, Message: "choose one of the policy modules for the new rule"})
	}
	switch {
	case strings.TrimSpace(nc.Rule) == "":
		problems = append(problems, rules.Problem{File: nc.Module, Message: "the rule must not be empty"})
	case causeID.MatchString(nc.ID) && !declaresID(nc.Rule, nc.ID):
		problems = append(problems, rules.Problem{File: nc.Module, Message: fmt.Sprintf("the new rule's # METADATA must declare custom.id: %s", nc.ID)})
	}
	testFile := testModuleOf(nc.Module)
	if _, ok := cur.Source.Modules[testFile]; strings.TrimSpace(nc.Tests) != "" && !ok {
		problems = append(problems, rules.Problem{File: testFile, Message: "the module has no test file to add the tests to"})
	}
	if len(problems) > 0 {
		return rules.Source{}, problems
	}
	draft, err := draftCauseTexts(cur.Source, nc.ID, nc.Texts)
	if err != nil {
		return rules.Source{}, err
	}
	draft.Modules[nc.Module] = appendBlock(draft.Modules[nc.Module], nc.Rule)
	if strings.TrimSpace(nc.Tests) != "" {
		draft.Modules[testFile] = appendBlock(draft.Modules[testFile], nc.Tests)
	}
	return draft, nil
}

// metadataID is a "# id: <id>" line of a rule's metadata; the id may be
// quoted.
var metadataID = regexp.MustCompile(`(?m)^#\s+id:\s*"?(\S*?)"?\s*$`)

// declaresID reports whether a rule's metadata has the line "id: <id>".
func declaresID(rule, id string) bool {
	for _, m := range metadataID.FindAllStringSubmatch(rule, -1) {
		if m[1] == id {
			return true
		}
	}
	return false
}

// checkNewCause says whether the built draft declares the new cause, and
// that it was not declared before.
func checkNewCause(cur, draft *rules.Policy, nc newCause) rules.Problems {
	if c, ok := cur.Catalog.Cause(nc.ID); ok {
		return rules.Problems{{File: c.File, Line: c.Line, Message: fmt.Sprintf("cause %s already exists; edit its texts instead", nc.ID)}}
	}
	if _, ok := draft.Catalog.Cause(nc.ID); !ok {
		return rules.Problems{{File: nc.Module, Message: fmt.Sprintf("the new rule's # METADATA must declare custom.id: %s", nc.ID)}}
	}
	return nil
}

func checkCauseTexts(texts map[string]causeTexts) rules.Problems {
	var problems rules.Problems
	for _, lang := range locales.Languages {
		t := texts[lang]
		for _, f := range []struct{ name, text string }{{"title", t.Title}, {"advice", t.Advice}} {
			switch {
			case strings.TrimSpace(f.text) == "":
				problems = append(problems, rules.Problem{File: locales.Path(lang), Message: fmt.Sprintf("the %s %s must not be empty", lang, f.name)})
			case strings.Contains(f.text, "{{"):
				problems = append(problems, rules.Problem{File: locales.Path(lang), Message: fmt.Sprintf("the %s %s must not contain {{", lang, f.name)})
			}
		}
	}
	return problems
}

// normalizeText turns a browser's CRLF line ends into LF.
func normalizeText(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func appendBlock(text, block string) string {
	text = strings.TrimRight(text, "\n")
	return text + "\n\n" + strings.Trim(normalizeText(block), "\n") + "\n"
}

func isTestModule(file string) bool { return strings.HasSuffix(file, "_test.rego") }

func testModuleOf(file string) string { return strings.TrimSuffix(file, ".rego") + "_test.rego" }

// policyModules returns the source's modules that are not tests, sorted.
func policyModules(src rules.Source) []string {
	var names []string
	for _, name := range slices.Sorted(maps.Keys(src.Modules)) {
		if !isTestModule(name) {
			names = append(names, name)
		}
	}
	return names
}

// message is one message to set in a message file: its id, the
// description it gets if it is new, and its text.
type message struct {
	ID, Description, Text string
}

// setMessage is setMessages for one message.
func setMessage(file []byte, id, description, text string) ([]byte, error) {
	return setMessages(file, message{id, description, text})
}

// setMessages returns a go-i18n TOML message file with each message's text
// (its "other") set: an existing message keeps its description, and a new
// one is appended with the given description. The file is edited in place
// so that its comments, order and every other message stay as they were,
// and a published diff shows only the change; the result is parsed back and
// compared with the intent, and a file whose layout the in-place edit
// cannot handle is re-encoded whole instead, in its own key order. The
// file is decoded once, and the edited result once.
func setMessages(file []byte, msgs ...message) ([]byte, error) {
	before, order, err := decodeMessages(file)
	if err != nil {
		return nil, err
	}
	want := maps.Clone(before)
	edited, inPlace := file, true
	for _, m := range msgs {
		msg := maps.Clone(want[m.ID])
		if msg == nil {
			msg = map[string]string{"description": m.Description}
			order = append(order, m.ID)
		}
		msg["other"] = m.Text
		want[m.ID] = msg
		if inPlace {
			edited, inPlace = editMessage(edited, m.ID, m.Description, m.Text)
		}
	}
	if inPlace {
		if got, _, err := decodeMessages(edited); err == nil && sameMessages(got, want) {
			return edited, nil
		}
	}
	return encodeMessages(want, order)
}

// decodeMessages reads a message file as message id to field to text, and
// the ids in the file's order.
func decodeMessages(file []byte) (map[string]map[string]string, []string, error) {
	var msgs map[string]map[string]string
	md, err := toml.Decode(string(file), &msgs)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the message file: %w", err)
	}
	var order []string
	for _, k := range md.Keys() {
		if len(k) == 1 {
			order = append(order, k[0])
		}
	}
	if msgs == nil {
		msgs = make(map[string]map[string]string)
	}
	return msgs, order, nil
}

func sameMessages(a, b map[string]map[string]string) bool {
	return maps.EqualFunc(a, b, func(x, y map[string]string) bool { return maps.Equal(x, y) })
}

var (
	tableHeader = regexp.MustCompile(`^\s*\[`)
	// tableKey is a line "[key]", the key bare or quoted, with an optional
	// comment after.
	tableKey = regexp.MustCompile(`^\s*\[\s*([^\[\]]*?)\s*\]\s*(#.*)?$`)
	otherKey = regexp.MustCompile(`^\s*other\s*=\s*`)
)

// isTableOf reports whether line is the header of table [id]: the id
// bare, quoted, or as tableHeaderOf writes it.
func isTableOf(line, id string) bool {
	m := tableKey.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
	return m != nil && (m[1] == id || m[1] == `"`+id+`"` || m[1] == toml.Key{id}.String())
}

// editMessage sets the "other" line of table [id], or appends the table;
// ok is false when the file's layout is not the plain one this handles.
func editMessage(file []byte, id, description, text string) ([]byte, bool) {
	lines := strings.SplitAfter(string(file), "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return isTableOf(l, id) })
	if start < 0 {
		var b strings.Builder
		b.WriteString(string(file))
		if len(file) > 0 && !bytes.HasSuffix(file, []byte("\n")) {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "\n%s%s%s", tableHeaderOf(id), keyValue("description", description), keyValue("other", text))
		return []byte(b.String()), true
	}
	for i := start + 1; i < len(lines) && !tableHeader.MatchString(lines[i]); i++ {
		loc := otherKey.FindStringIndex(lines[i])
		if loc == nil {
			continue
		}
		end := i // the last line of the value: later for a multi-line string
		value := lines[i][loc[1]:]
		for _, delim := range []string{`"""`, `'''`} {
			if !strings.HasPrefix(value, delim) {
				continue
			}
			if strings.Count(value, delim) >= 2 {
				break
			}
			for end = i + 1; end < len(lines) && !strings.Contains(lines[end], delim); end++ {
			}
			if end == len(lines) {
				return nil, false
			}
		}
		out := slices.Concat(lines[:i], []string{keyValue("other", text)}, lines[end+1:])
		return []byte(strings.Join(out, "")), true
	}
	return nil, false
}

// keyValue is one TOML line, key = "value", quoted by the TOML encoder.
func keyValue(key, value string) string {
	var b bytes.Buffer
	_ = toml.NewEncoder(&b).Encode(map[string]string{key: value})
	return b.String()
}

// encodeMessages writes a whole message file: tables in order, each with
// its description first, its text next, then any other field by name.
func encodeMessages(msgs map[string]map[string]string, order []string) ([]byte, error) {
	var b strings.Builder
	seen := make(map[string]bool)
	for _, id := range append(order, slices.Sorted(maps.Keys(msgs))...) {
		msg, ok := msgs[id]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(tableHeaderOf(id))
		fields := []string{"description", "other"}
		for _, f := range slices.Sorted(maps.Keys(msg)) {
			if !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
		for _, f := range fields {
			if v, ok := msg[f]; ok {
				b.WriteString(keyValue(f, v))
			}
		}
	}
	out := []byte(b.String())
	if _, _, err := decodeMessages(out); err != nil {
		return nil, err
	}
	return out, nil
}

// tableHeaderOf is the header line of table [id], the id quoted if TOML
// needs it: the one way both editMessage and encodeMessages write it.
func tableHeaderOf(id string) string { return "[" + toml.Key{id}.String() + "]\n" }

// sourceFiles lists a source as file path to text: modules by their path,
// message files under locales/.
func sourceFiles(src rules.Source) map[string]string {
	files := make(map[string]string, len(src.Modules)+len(src.Messages))
	maps.Copy(files, src.Modules)
	for name, b := range src.Messages {
		files[path.Join("locales", name)] = string(b)
	}
	return files
}

// diffSources is a unified diff, file by file, of what changed from a to b.
func diffSources(a, b rules.Source) string {
	fa, fb := sourceFiles(a), sourceFiles(b)
	names := slices.Sorted(maps.Keys(fa))
	for name := range fb {
		if _, ok := fa[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var out strings.Builder
	for _, name := range names {
		out.WriteString(unifiedDiff(name, fa[name], fb[name]))
	}
	return out.String()
}

// diffContext is how many unchanged lines a hunk shows around a change.
const diffContext = 3

// unifiedDiff is the unified diff of one file's lines, or "" when they are
// equal. Lines are matched by their longest common subsequence.
func unifiedDiff(name, a, b string) string {
	if a == b {
		return ""
	}
	al, bl := splitLines(a), splitLines(b)
	ops := diffLines(al, bl)

	var out strings.Builder
	fmt.Fprintf(&out, "--- a/%s\n+++ b/%s\n", name, name)
	// Group the edit script into hunks: runs of changes with up to
	// diffContext equal lines around them.
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(0, i-diffContext)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*diffContext {
				end = min(len(ops), end+diffContext)
				break
			}
			end = run
		}
		hunk := ops[start:end]
		aStart, bStart := hunk[0].a, hunk[0].b
		var aLen, bLen int
		for _, op := range hunk {
			if op.kind != '+' {
				aLen++
			}
			if op.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, op := range hunk {
			out.WriteByte(op.kind)
			out.WriteString(op.line)
			out.WriteByte('\n')
		}
		i = end
	}
	return out.String()
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diffOp is one line of an edit script: ' ' kept, '-' removed, '+' added;
// a and b are the line's index (or where it would be) in each file.
type diffOp struct {
	kind byte
	line string
	a, b int
}

// maxDiffCells bounds the quadratic part of diffLines: the changed lines
// of a times those of b. Past it (two 2,000-line modules rewritten, say),
// the changed lines are shown as all removed, then all added, rather than
// spending memory and time on their longest common subsequence.
const maxDiffCells = 4_000_000

// diffLines is the edit script from a to b. Common leading and trailing
// lines are set aside first, so the quadratic part only sees the change;
// a change larger than maxDiffCells is a replacement of its lines.
func diffLines(a, b []string) []diffOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]

	// lcs(i, j) is the length of the longest common subsequence of ma[i:]
	// and mb[j:]; past maxDiffCells it is left at zero, which makes the
	// script below remove every changed line of a, then add those of b.
	w := len(mb) + 1
	var cells []int32
	if len(ma)*len(mb) <= maxDiffCells {
		cells = make([]int32, (len(ma)+1)*w)
		for i := len(ma) - 1; i >= 0; i-- {
			for j := len(mb) - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					cells[i*w+j] = cells[(i+1)*w+j+1] + 1
				} else {
					cells[i*w+j] = max(cells[(i+1)*w+j], cells[i*w+j+1])
				}
			}
		}
	}
	lcs := func(i, j int) int32 {
		if cells == nil {
			return 0
		}
		return cells[i*w+j]
	}

	ops := make([]diffOp, 0, len(a)+len(b))
	for k := 0; k < pre; k++ {
		ops = append(ops, diffOp{' ', a[k], k, k})
	}
	i, j := 0, 0
	for i < len(ma) || j < len(mb) {
		switch {
		case cells != nil && i < len(ma) && j < len(mb) && ma[i] == mb[j]:
			ops = append(ops, diffOp{' ', ma[i], pre + i, pre + j})
			i++
			j++
		case i < len(ma) && (j == len(mb) || lcs(i+1, j) >= lcs(i, j+1)):
			ops = append(ops, diffOp{'-', ma[i], pre + i, pre + j})
			i++
		default:
			ops = append(ops, diffOp{'+', mb[j], pre + i, pre + j})
			j++
		}
	}
	for k := 0; k < suf; k++ {
		ops = append(ops, diffOp{' ', a[len(a)-suf+k], len(a) - suf + k, len(b) - suf + k})
	}
	return ops
}
