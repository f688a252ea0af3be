// Package content renders the help site's documents, in Spanish and
// English, from Markdown to HTML: the admins' article and the contacts'
// explanation of each cause.
//
// Both are part of the rules (rules/<topic>/article.<lang>.md and
// rules/<topic>/help.<lang>.md), so that a revision carries them and an
// admin edits them as the rules; New takes one document's text in each
// language, and renders it once, on first use. Every section and every cause in it carries a stable id, the
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

// Set is one document (the admins' article, or the contacts'
// explanations) in each of its languages.
type Set struct {
	src      map[string][]byte
	once     sync.Once
	articles map[string]article
	err      error
}

// New returns the document whose Markdown in each language src holds (by
// language code).
func New(src map[string][]byte) *Set { return &Set{src: src} }

// render renders every language once, on first use.
func (s *Set) render() (map[string]article, error) {
	s.once.Do(func() {
		s.articles = make(map[string]article, len(s.src))
		for lang, src := range s.src {
			a, err := render(src)
			if err != nil {
				s.err = errors.Join(s.err, fmt.Errorf("%s: %w", lang, err))
				continue
			}
			a.page.Lang = lang
			s.articles[lang] = a
		}
	})
	return s.articles, s.err
}

// Err is the first problem rendering the document, or nil.
func (s *Set) Err() error {
	_, err := s.render()
	return err
}

// Page returns the document in lang. It returns an error wrapping
// ErrUnknownLanguage for a language the document is not written in.
func (s *Set) Page(lang string) (Page, error) {
	all, err := s.render()
	a, ok := all[lang]
	if !ok {
		if err != nil {
			return Page{}, err
		}
		return Page{}, fmt.Errorf("%w %q", ErrUnknownLanguage, lang)
	}
	p := a.page
	p.Sections = slices.Clone(p.Sections)
	return p, nil
}

// Anchors returns every id in the document in lang, in document order: the
// sections' ids and the causes' ids. It returns nil for an unknown language.
func (s *Set) Anchors(lang string) []string {
	all, _ := s.render()
	a, ok := all[lang]
	if !ok {
		return nil
	}
	return slices.Clone(a.anchors)
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
