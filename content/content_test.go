package content

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

// languages lists the languages the article is written in, source first.
var languages = []string{"es", "en"}

// builtIn reads the document name (article or help) of the rules built
// into the binary from the rules folder.
func builtIn(name string) *Set {
	src := make(map[string][]byte)
	for _, lang := range languages {
		b, err := os.ReadFile("../rules/login/" + name + "." + lang + ".md")
		if err != nil {
			panic(err)
		}
		src[lang] = b
	}
	return New(src)
}

var builtInArticle, builtInHelp = builtIn("article"), builtIn("help")

// Article, Anchors, Help and HelpAnchors read the built-in documents.
func Article(lang string) (Page, error) { return builtInArticle.Page(lang) }

func Anchors(lang string) []string { return builtInArticle.Anchors(lang) }

func Help(lang string) (Page, error) { return builtInHelp.Page(lang) }

func HelpAnchors(lang string) []string { return builtInHelp.Anchors(lang) }

// wantAnchors is every id the article must carry, in the article's order:
// each symptom followed by its causes.
var wantAnchors = []string{
	"code_not_received",
	"identifier_not_registered",
	"contact_opted_out",
	"try_other_channel",
	"check_spam",
	"no_connection",
	"code_needed_often",
	"incognito_mode",
	"cookies_deleted",
	"new_device",
	"code_not_accepted",
	"message_not_published",
	"vpn_in_use",
	"old_code",
}

var wantSections = []string{"code_not_received", "code_needed_often", "code_not_accepted"}

func TestArticle(t *testing.T) {
	tests := []struct {
		name      string
		lang      string
		wantTitle string
		wantText  []string
	}{
		{
			name:      "spanish",
			lang:      "es",
			wantTitle: "Ayuda a contactos que no pueden iniciar sesión",
			wantText: []string{
				"Si tienes contactos en tu plataforma que tienen problemas para iniciar sesión",
				"Asegúrate de que tus contactos estén usando un correo electrónico o un número de teléfono que esté registrado en la plataforma.",
				"Verifica la tarjeta de contacto para asegurarte de que el contacto no se haya desvinculado",
				"Asegúrate de que hayan probado tanto la opción de correo electrónico como la de SMS.",
				"Pídeles que busquen el código en su carpeta de spam (correo no deseado).",
				"Pídeles que comprueben que su dispositivo tiene conexión a internet.",
				"en modo incógnito en el navegador.",
				"El contacto tiene habilitada la eliminación automática de cookies.",
				"El contacto podría estar usando un dispositivo nuevo",
				"no se ha publicado para él desde la plataforma.",
				"Usar una VPN podría ser la causa del problema.",
				"Si pidió varios códigos de verificación, siempre debe usar el más nuevo.",
			},
		},
		{
			name:      "english",
			lang:      "en",
			wantTitle: "Helping contacts who cannot log in",
			wantText: []string{
				"Ask them to look for the code in their spam folder (junk mail).",
				"Ask them to check that their device is connected to the internet.",
				"they always need to use the newest one.",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Article(tc.lang)
			if err != nil {
				t.Fatalf("Article(%q) error = %v; want nil", tc.lang, err)
			}
			if p.Lang != tc.lang {
				t.Errorf("Article(%q).Lang = %q; want %q", tc.lang, p.Lang, tc.lang)
			}
			if p.Title != tc.wantTitle {
				t.Errorf("Article(%q).Title = %q; want %q", tc.lang, p.Title, tc.wantTitle)
			}
			var ids []string
			for _, s := range p.Sections {
				if s.Title == "" {
					t.Errorf("Article(%q): section %q has an empty title", tc.lang, s.ID)
				}
				ids = append(ids, s.ID)
			}
			if !slices.Equal(ids, wantSections) {
				t.Errorf("Article(%q) section ids = %v; want %v", tc.lang, ids, wantSections)
			}
			html := string(p.HTML)
			for _, s := range tc.wantText {
				if !strings.Contains(html, s) {
					t.Errorf("Article(%q).HTML does not contain %q", tc.lang, s)
				}
			}
			for _, bad := range []string{"<h1", "<script", "<style", "style=", "{#", "<!--", "Did this answer"} {
				if strings.Contains(html, bad) {
					t.Errorf("Article(%q).HTML contains %q; want none", tc.lang, bad)
				}
			}
			for _, id := range Anchors(tc.lang) {
				if !strings.Contains(html, `id="`+id+`"`) {
					t.Errorf("Article(%q).HTML has no element with id %q", tc.lang, id)
				}
			}
			if err := wellFormed(html); err != nil {
				t.Errorf("Article(%q).HTML is not well formed: %v", tc.lang, err)
			}
		})
	}
}

func TestArticleSectionsAreCopies(t *testing.T) {
	p, err := Article("en")
	if err != nil {
		t.Fatalf("Article(%q) error = %v; want nil", "en", err)
	}
	p.Sections[0].ID = "changed"
	again, _ := Article("en")
	if got := again.Sections[0].ID; got != wantSections[0] {
		t.Errorf("Article(%q).Sections[0].ID after a caller's change = %q; want %q", "en", got, wantSections[0])
	}
}

func TestArticleUnknownLanguage(t *testing.T) {
	for _, lang := range []string{"", "fr", "ES", "es-MX", "../es"} {
		t.Run(lang, func(t *testing.T) {
			if _, err := Article(lang); !errors.Is(err, ErrUnknownLanguage) {
				t.Errorf("Article(%q) error = %v; want %v", lang, err, ErrUnknownLanguage)
			}
			if got := Anchors(lang); got != nil {
				t.Errorf("Anchors(%q) = %v; want nil", lang, got)
			}
		})
	}
}

func TestAnchors(t *testing.T) {
	for _, lang := range languages {
		t.Run(lang, func(t *testing.T) {
			if got := Anchors(lang); !slices.Equal(got, wantAnchors) {
				t.Errorf("Anchors(%q) = %v; want %v", lang, got, wantAnchors)
			}
		})
	}
	if es, en := Anchors("es"), Anchors("en"); !slices.Equal(es, en) {
		t.Errorf("Anchors(%q) = %v; want the same as Anchors(%q) = %v", "es", es, "en", en)
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name        string
		src         string
		wantHTML    string
		wantAnchors []string
		wantErr     string
	}{
		{
			name:        "tight list item",
			src:         "# T\n\n- {#a_b} One _two_.\n- Three.\n",
			wantHTML:    "<ul>\n<li id=\"a_b\">One <em>two</em>.</li>\n<li>Three.</li>\n</ul>\n",
			wantAnchors: []string{"a_b"},
		},
		{
			name:        "loose list item",
			src:         "# T\n\n- {#a} One.\n\n- {#b} Two.\n",
			wantHTML:    "<ul>\n<li id=\"a\">\n<p>One.</p>\n</li>\n<li id=\"b\">\n<p>Two.</p>\n</li>\n</ul>\n",
			wantAnchors: []string{"a", "b"},
		},
		{
			name:        "paragraph",
			src:         "# T\n\n{#a} Text *here*.\n",
			wantHTML:    "<p id=\"a\">Text <em>here</em>.</p>\n",
			wantAnchors: []string{"a"},
		},
		{
			name:        "marker alone on its line",
			src:         "# T\n\n{#a}\nText.\n",
			wantHTML:    "<p id=\"a\">Text.</p>\n",
			wantAnchors: []string{"a"},
		},
		{
			name:     "marker not at the start",
			src:      "# T\n\nText {#a} here.\n",
			wantHTML: "<p>Text {#a} here.</p>\n",
		},
		{
			name:     "escaped marker",
			src:      "# T\n\n\\{#a} Text.\n",
			wantHTML: "<p>{#a} Text.</p>\n",
		},
		{
			name:     "marker without a space",
			src:      "# T\n\n{#a}Text.\n",
			wantHTML: "<p>{#a}Text.</p>\n",
		},
		{
			name:        "section",
			src:         "# T\n\n## Why? {#why}\n",
			wantHTML:    "<h2 id=\"why\">Why?</h2>\n",
			wantAnchors: []string{"why"},
		},
		{
			name:     "raw HTML is left out",
			src:      "# T\n\n<script>alert(1)</script>\n",
			wantHTML: "<!-- raw HTML omitted -->\n",
		},
		{name: "no title", src: "Text.\n", wantErr: "first-level heading"},
		{name: "two titles", src: "# T\n\n# U\n", wantErr: "second first-level heading"},
		{name: "section without id", src: "# T\n\n## Why?\n", wantErr: `section "Why?" has no id`},
		{name: "duplicate id", src: "# T\n\n## A {#a}\n\n- {#a} Text.\n", wantErr: `duplicate id "a"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render([]byte(tc.src))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("render(%q) error = %v; want one containing %q", tc.src, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("render(%q) error = %v; want nil", tc.src, err)
			}
			if got.page.Title != "T" {
				t.Errorf("render(%q).Title = %q; want %q", tc.src, got.page.Title, "T")
			}
			if string(got.page.HTML) != tc.wantHTML {
				t.Errorf("render(%q).HTML = %q; want %q", tc.src, got.page.HTML, tc.wantHTML)
			}
			if !slices.Equal(got.anchors, tc.wantAnchors) {
				t.Errorf("render(%q) anchors = %v; want %v", tc.src, got.anchors, tc.wantAnchors)
			}
		})
	}
}

// wellFormed reports whether every element in the HTML fragment is closed
// and properly nested. The article uses no void elements, so a strict XML
// parser can check this.
func wellFormed(fragment string) error {
	d := xml.NewDecoder(strings.NewReader("<div>" + fragment + "</div>"))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// TestHelp: the contacts' page has, in both languages, every symptom and
// every cause of the article, in the article's order, each with what it
// means and what to do.
func TestHelp(t *testing.T) {
	words := map[string][2]string{"es": {"Qué significa:", "Qué hacer:"}, "en": {"What it means:", "What to do:"}}
	for _, lang := range languages {
		p, err := Help(lang)
		if err != nil {
			t.Fatalf("Help(%s) = %v", lang, err)
		}
		if got := HelpAnchors(lang); !slices.Equal(got, wantAnchors) {
			t.Errorf("HelpAnchors(%s) = %v; want %v", lang, got, wantAnchors)
		}
		causes := len(wantAnchors) - len(wantSections)
		for _, w := range words[lang] {
			if n := strings.Count(string(p.HTML), "<strong>"+w+"</strong>"); n != causes {
				t.Errorf("Help(%s) says %q %d times; want once per cause, %d", lang, w, n, causes)
			}
		}
	}
	if _, err := Help("fr"); !errors.Is(err, ErrUnknownLanguage) {
		t.Errorf("Help(fr) = %v; want ErrUnknownLanguage", err)
	}
}
