package locales

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// embeddedTexts parses the built-in message files or stops the test.
func embeddedTexts(t *testing.T) *Texts {
	t.Helper()
	texts, err := Parse(Embedded())
	if err != nil {
		t.Fatalf("Parse(Embedded()) = %v; want no error", err)
	}
	return texts
}

// rawMessages decodes one built-in message file as plain TOML, message id to
// the message's fields.
func rawMessages(t *testing.T, lang string) map[string]map[string]any {
	t.Helper()
	buf, ok := Embedded()[FileName(lang)]
	if !ok {
		t.Fatalf("Embedded() has no %s", FileName(lang))
	}
	var msgs map[string]map[string]any
	if _, err := toml.Decode(string(buf), &msgs); err != nil {
		t.Fatalf("toml.Decode(%s) = %v; want no error", FileName(lang), err)
	}
	return msgs
}

func TestEmbeddedHasEveryLanguage(t *testing.T) {
	files := Embedded()
	for _, lang := range Languages {
		if _, ok := files[FileName(lang)]; !ok {
			t.Errorf("Embedded() has no %s", FileName(lang))
		}
	}
	if len(files) != len(Languages) {
		t.Errorf("len(Embedded()) = %d; want %d (one file per language)", len(files), len(Languages))
	}
}

func TestEveryMessageInEveryLanguage(t *testing.T) {
	texts := embeddedTexts(t)
	tests := []struct{ from, to string }{
		{"es", "en"},
		{"en", "es"},
	}
	for _, tc := range tests {
		t.Run(tc.from+" in "+tc.to, func(t *testing.T) {
			ids := texts.IDs(tc.from)
			if len(ids) == 0 {
				t.Fatalf("IDs(%q) is empty", tc.from)
			}
			for _, id := range ids {
				if _, ok := texts.Text(tc.to, id); !ok {
					t.Errorf("%s has %s; %s lacks it", FileName(tc.from), id, FileName(tc.to))
				}
			}
		})
	}
}

func TestEveryMessageIsDescribedAndFilled(t *testing.T) {
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			msgs := rawMessages(t, lang)
			if len(msgs) == 0 {
				t.Fatalf("%s has no messages", FileName(lang))
			}
			for id, fields := range msgs {
				if s, _ := fields["description"].(string); strings.TrimSpace(s) == "" {
					t.Errorf("%s: %s has no description", FileName(lang), id)
				}
				other, _ := fields["other"].(string)
				if strings.TrimSpace(other) == "" {
					t.Errorf("%s: %s has an empty text (other)", FileName(lang), id)
				}
				if strings.Contains(other, "{{") {
					t.Errorf("%s: %s = %q; want no template data", FileName(lang), id, other)
				}
			}
		})
	}
}

func TestNoMessageIsEmpty(t *testing.T) {
	texts := embeddedTexts(t)
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			for _, id := range texts.IDs(lang) {
				if s, _ := texts.Text(lang, id); strings.TrimSpace(s) == "" {
					t.Errorf("Text(%q, %q) = %q; want a text", lang, id, s)
				}
			}
		})
	}
}

func TestMessagesMatchBetweenParsers(t *testing.T) {
	texts := embeddedTexts(t)
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			var raw []string
			for id := range rawMessages(t, lang) {
				raw = append(raw, id)
			}
			slices.Sort(raw)
			if got := texts.IDs(lang); !slices.Equal(got, raw) {
				t.Errorf("IDs(%q) = %v; want %v (the ids of %s)", lang, got, raw, FileName(lang))
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name  string
		hints []string
		want  string
	}{
		{"no hints", nil, "es"},
		{"empty", []string{""}, "es"},
		{"code en", []string{"en"}, "en"},
		{"code es", []string{"es"}, "es"},
		{"upper case", []string{"EN"}, "en"},
		{"surrounding spaces", []string{" en "}, "en"},
		{"region", []string{"en-GB,en;q=0.9"}, "en"},
		{"unsupported", []string{"fr"}, "es"},
		{"q-values", []string{"fr, en;q=0.5"}, "en"},
		{"q-values order", []string{"es;q=0.4, en;q=0.8"}, "en"},
		{"garbage", []string{";;;=="}, "es"},
		{"body beats query and header", []string{"en", "es", "es"}, "en"},
		{"query when body empty", []string{"", "en", "es"}, "en"},
		{"header when body and query empty", []string{"", "", "en-US,en;q=0.9"}, "en"},
		{"unsupported body skipped", []string{"fr", "", "en"}, "en"},
		{"unsupported everywhere", []string{"fr", "de", "it-IT"}, "es"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Negotiate(tc.hints...); got != tc.want {
				t.Errorf("Negotiate(%q) = %q; want %q", tc.hints, got, tc.want)
			}
		})
	}
}

func TestID(t *testing.T) {
	tests := []struct {
		prefix, snake, suffix string
		want                  string
	}{
		{"Cause", "check_spam", "Title", "CauseCheckSpamTitle"},
		{"Cause", "identifier_not_registered", "Advice", "CauseIdentifierNotRegisteredAdvice"},
		{"Symptom", "code_not_received", "Title", "SymptomCodeNotReceivedTitle"},
		{"Question", "spam_checked", "", "QuestionSpamChecked"},
		{"Question", "vpn", "", "QuestionVpn"},
		{"Channel", "sms", "", "ChannelSms"},
		{"Cause", "double__underscore_", "Title", "CauseDoubleUnderscoreTitle"},
		{"Cause", "", "Title", "CauseTitle"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := ID(tc.prefix, tc.snake, tc.suffix); got != tc.want {
				t.Errorf("ID(%q, %q, %q) = %q; want %q", tc.prefix, tc.snake, tc.suffix, got, tc.want)
			}
		})
	}
}

func TestParseErrorsNameTheFile(t *testing.T) {
	good := Embedded()
	broken := []byte("[CauseCheckSpamTitle\nother = \"x\"\n")
	with := func(name string, buf []byte) map[string][]byte {
		files := make(map[string][]byte, len(good))
		for k, v := range good {
			files[k] = v
		}
		if buf == nil {
			delete(files, name)
		} else {
			files[name] = buf
		}
		return files
	}
	tests := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"broken es", with("active.es.toml", broken), "active.es.toml"},
		{"broken en", with("active.en.toml", broken), "active.en.toml"},
		{"missing es", with("active.es.toml", nil), "active.es.toml"},
		{"missing en", with("active.en.toml", nil), "active.en.toml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			texts, err := Parse(tc.files)
			if err == nil {
				t.Fatalf("Parse(%s) = %v, nil; want an error", tc.name, texts)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%s) error = %q; want it to name %s", tc.name, err, tc.want)
			}
		})
	}
}

func TestLocalizer(t *testing.T) {
	texts := embeddedTexts(t)
	es, _ := texts.Text("es", "CauseCheckSpamTitle")
	en, _ := texts.Text("en", "CauseCheckSpamTitle")
	if es == en {
		t.Fatalf("CauseCheckSpamTitle is %q in both languages; want a translation", es)
	}
	tests := []struct {
		name string
		ctx  context.Context
		id   string
		want string
		lang string
	}{
		{"es", WithLocalizer(context.Background(), NewLocalizer(texts, "es")), "CauseCheckSpamTitle", es, "es"},
		{"en", WithLocalizer(context.Background(), NewLocalizer(texts, "en")), "CauseCheckSpamTitle", en, "en"},
		{"missing id shows the id", WithLocalizer(context.Background(), NewLocalizer(texts, "en")), "NoSuchMessage", "NoSuchMessage", "en"},
		{"unsupported language shows the id", WithLocalizer(context.Background(), NewLocalizer(texts, "fr")), "CauseCheckSpamTitle", "CauseCheckSpamTitle", "fr"},
		{"no localizer in context", context.Background(), "CauseCheckSpamTitle", "CauseCheckSpamTitle", Source},
		{"nil texts", WithLocalizer(context.Background(), NewLocalizer(nil, "en")), "CauseCheckSpamTitle", "CauseCheckSpamTitle", "en"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := T(tc.ctx, tc.id); got != tc.want {
				t.Errorf("T(ctx, %q) = %q; want %q", tc.id, got, tc.want)
			}
			if got := FromContext(tc.ctx).T(tc.id); got != tc.want {
				t.Errorf("FromContext(ctx).T(%q) = %q; want %q", tc.id, got, tc.want)
			}
			if got := Lang(tc.ctx); got != tc.lang {
				t.Errorf("Lang(ctx) = %q; want %q", got, tc.lang)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	texts := embeddedTexts(t)
	got := texts.Missing([]string{"CauseCheckSpamTitle", "NoSuchMessage"})
	for _, lang := range Languages {
		if want := []string{"NoSuchMessage"}; !slices.Equal(got[lang], want) {
			t.Errorf("Missing(...)[%q] = %v; want %v", lang, got[lang], want)
		}
	}
}

func ExampleID() {
	fmt.Println(ID("Cause", "identifier_not_registered", "Title"))
	// Output: CauseIdentifierNotRegisteredTitle
}

func TestWithFallback(t *testing.T) {
	own, err := Parse(map[string][]byte{
		"active.es.toml": []byte("[Shared]\nother = \"propio\"\n"),
		"active.en.toml": []byte("[Shared]\nother = \"own\"\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	base, err := Parse(map[string][]byte{
		"active.es.toml": []byte("[Shared]\nother = \"base\"\n[OnlyBase]\nother = \"solo base\"\n"),
		"active.en.toml": []byte("[Shared]\nother = \"base\"\n[OnlyBase]\nother = \"base only\"\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	merged := own.WithFallback(base)
	tests := []struct{ lang, id, want string }{
		{"es", "Shared", "propio"},
		{"en", "Shared", "own"},
		{"es", "OnlyBase", "solo base"},
		{"en", "OnlyBase", "base only"},
	}
	for _, tc := range tests {
		if got, _ := merged.Text(tc.lang, tc.id); got != tc.want {
			t.Errorf("WithFallback.Text(%s, %s) = %q; want %q", tc.lang, tc.id, got, tc.want)
		}
	}
	if _, ok := own.Text("es", "OnlyBase"); ok {
		t.Errorf("WithFallback changed the texts it was called on")
	}
}
