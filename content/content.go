// Package content holds the help-center article, the admins' guide, and the
// contacts' explanation of each cause, in Spanish and English, as Markdown,
// and renders them to HTML for the help site.
//
// The article lives in es/article.md and en/article.md, the contacts' page
// in es/help.md and en/help.md; each is rendered once, on first use. Every section and every cause in it carries a stable id, the
// same in both languages, so findings and the API's article_url can link to
// it (for example /en/article#check_spam):
//
//   - a heading takes its id from goldmark's attribute syntax:
//     "## Title {#code_not_received}";
//   - a paragraph or list item whose text starts with an id marker,
//     "{#check_spam} Ask them to…", gets that id, and the marker is removed.
//     A marker written as "\{#x}" is left as text.
package content

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

//go:embed es/*.md en/*.md
var files embed.FS

// languages lists the languages the article is written in, source first.
var languages = []string{"es", "en"}

// ErrUnknownLanguage is returned, wrapped, by Article for a language the
// article is not written in.
var ErrUnknownLanguage = errors.New("content: unknown language")

// A Section is one second-level heading of the article, for a table of
// contents.
type Section struct {
	// ID is the heading's anchor, such as "code_not_received".
	ID string
	// Title is the heading's plain text.
	Title string
}

// A Page is the article rendered in one language.
type Page struct {
	// Lang is the page's language code, "es" or "en".
	Lang string
	// Title is the plain text of the article's first-level heading.
	Title string
	// HTML is the article's body, everything after the title, as safe HTML.
	HTML template.HTML
	// Sections are the article's second-level headings, in order.
	Sections []Section
}

// article is a rendered page and every id it contains, in document order.
type article struct {
	page    Page
	anchors []string
}

// articles renders the admins' guide (article.md) in every language once,
// on first use.
var articles = sync.OnceValues(func() (map[string]article, error) { return renderAll("article.md") })

// helps renders the contacts' explanations of the causes (help.md) in every
// language once, on first use.
var helps = sync.OnceValues(func() (map[string]article, error) { return renderAll("help.md") })

// renderAll renders the document file in every language.
func renderAll(file string) (map[string]article, error) {
	out := make(map[string]article, len(languages))
	for _, lang := range languages {
		name := lang + "/" + file
		src, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("content: %w", err)
		}
		a, err := render(src)
		if err != nil {
			return nil, fmt.Errorf("content: %s: %w", name, err)
		}
		a.page.Lang = lang
		out[lang] = a
	}
	return out, nil
}

// Article returns the article in lang ("es" or "en"). It returns an error
// wrapping ErrUnknownLanguage for any other language.
func Article(lang string) (Page, error) { return pageOf(articles, lang) }

// Help returns the contacts' page in lang: each cause, what it means and
// what to do, addressed to the contact, under a heading whose id is the
// cause's (### Title {#check_spam}), grouped by symptom.
func Help(lang string) (Page, error) { return pageOf(helps, lang) }

// HelpAnchors returns every id of the contacts' page in lang, in document
// order; nil for an unknown language.
func HelpAnchors(lang string) []string {
	all, err := helps()
	if err != nil {
		return nil
	}
	return slices.Clone(all[lang].anchors)
}

func pageOf(docs func() (map[string]article, error), lang string) (Page, error) {
	all, err := docs()
	if err != nil {
		return Page{}, err
	}
	a, ok := all[lang]
	if !ok {
		return Page{}, fmt.Errorf("%w %q", ErrUnknownLanguage, lang)
	}
	p := a.page
	p.Sections = slices.Clone(p.Sections)
	return p, nil
}

// Anchors returns every id in the article in lang, in document order: the
// sections' ids and the causes' ids. It returns nil for an unknown language.
func Anchors(lang string) []string {
	all, err := articles()
	if err != nil {
		return nil
	}
	return slices.Clone(all[lang].anchors)
}

// markdown is the converter: CommonMark, heading attributes, id markers, and
// no raw HTML (goldmark's default leaves it out).
var markdown = goldmark.New(
	goldmark.WithParserOptions(
		parser.WithAttribute(),
		parser.WithASTTransformers(util.Prioritized(idMarkers{}, 100)),
	),
)

// render turns one article's Markdown into a Page. The document must start
// with its only first-level heading, and every second-level heading must
// have an id; ids must be unique.
func render(src []byte) (article, error) {
	pc := parser.NewContext()
	doc := markdown.Parser().Parse(text.NewReader(src), parser.WithContext(pc))
	if err, ok := pc.Get(markerErrKey).(error); ok {
		return article{}, err
	}

	h1, ok := doc.FirstChild().(*ast.Heading)
	if !ok || h1.Level != 1 {
		return article{}, errors.New("the document does not start with a first-level heading")
	}
	a := article{page: Page{Title: plainText(h1, src)}}
	doc.RemoveChild(doc, h1)

	seen := map[string]bool{}
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		id := idOf(n)
		if id != "" {
			if seen[id] {
				return ast.WalkStop, fmt.Errorf("duplicate id %q", id)
			}
			seen[id] = true
			a.anchors = append(a.anchors, id)
		}
		if h, ok := n.(*ast.Heading); ok {
			switch {
			case h.Level == 1:
				return ast.WalkStop, fmt.Errorf("second first-level heading %q", plainText(h, src))
			case h.Level == 2 && id == "":
				return ast.WalkStop, fmt.Errorf("section %q has no id", plainText(h, src))
			case h.Level == 2:
				a.page.Sections = append(a.page.Sections, Section{ID: id, Title: plainText(h, src)})
			}
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		return article{}, err
	}

	var buf bytes.Buffer
	if err := markdown.Renderer().Render(&buf, src, doc); err != nil {
		return article{}, err
	}
	// The source contains no raw HTML and goldmark escapes all text, so the
	// output is safe to use as template.HTML.
	a.page.HTML = template.HTML(buf.String())
	return a, nil
}

// idOf returns n's id attribute, or "".
func idOf(n ast.Node) string {
	v, ok := n.AttributeString("id")
	if !ok {
		return ""
	}
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	}
	return ""
}

// plainText returns the text of n's inline content, without markup.
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Value(src))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String())
}

// markerPattern matches an id marker at the start of a paragraph's first line.
var markerPattern = regexp.MustCompile(`^[ \t]*\{#([A-Za-z][A-Za-z0-9_-]*)\}(?:[ \t]+|\r?\n|$)`)

// markerErrKey holds the first error idMarkers met while parsing.
var markerErrKey = parser.NewContextKey()

// idMarkers is an AST transformer that moves a leading "{#id}" marker of a
// paragraph into an id attribute: on the list item when the paragraph opens
// one, otherwise on the paragraph itself.
type idMarkers struct{}

// Transform implements parser.ASTTransformer.
func (idMarkers) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	var blocks []ast.Node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n.Kind() {
		case ast.KindParagraph, ast.KindTextBlock:
			if entering {
				blocks = append(blocks, n)
			}
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	for _, b := range blocks {
		if err := applyMarker(b, reader.Source()); err != nil {
			pc.Set(markerErrKey, err)
			return
		}
	}
}

// applyMarker applies block's id marker, if it has one.
func applyMarker(block ast.Node, src []byte) error {
	lines := block.Lines()
	if lines.Len() == 0 {
		return nil
	}
	first := lines.At(0)
	line := first.Value(src)
	m := markerPattern.FindSubmatchIndex(line)
	if m == nil {
		return nil
	}
	id := string(line[m[2]:m[3]])
	end := first.Start + m[1]

	// Remove the inline text that spells the marker. The marker's characters
	// are not inline markup, but goldmark may split them into several Text
	// nodes (at "_", for instance).
	for consumed := first.Start; consumed < end; {
		t, ok := block.FirstChild().(*ast.Text)
		if !ok {
			return fmt.Errorf("id marker %q is broken up by inline markup", id)
		}
		if t.Segment.Stop > end {
			t.Segment = t.Segment.WithStart(end)
			break
		}
		consumed = t.Segment.Stop
		if t.SoftLineBreak() || t.HardLineBreak() {
			consumed = end
		}
		block.RemoveChild(block, t)
	}

	target := block
	if li, ok := block.Parent().(*ast.ListItem); ok && li.FirstChild() == block {
		target = li
	} else if block.Kind() == ast.KindTextBlock {
		return fmt.Errorf("id marker %q is on text that has no element of its own", id)
	}
	target.SetAttributeString("id", []byte(id))
	return nil
}
