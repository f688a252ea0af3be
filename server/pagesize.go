package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"acceso/knowledge"
	"acceso/publish"
	"acceso/rules"
)

// MaxPage is the most bytes a page of the site may be before compression.
// A text is at most locales.MaxText bytes, but a page shows many; a publish
// whose pages would pass this is refused, so that no change of texts makes
// every visit heavy (a 1 MB footer was once on every page).
const MaxPage = 64 << 10

// CheckPages renders every page of the site that the rules p give (the
// pages the export writes: home, article and every state of the
// self-diagnosis, in every language) and refuses p when one passes
// MaxPage. It evaluates p, so for a draft it runs in the sandbox: main
// hands it to sandbox.Main.
func CheckPages(ctx context.Context, p *rules.Policy) knowledge.Problems {
	return checkPages(ctx, p, MaxPage)
}

func checkPages(ctx context.Context, p *rules.Policy, limit int) knowledge.Problems {
	log := slog.New(slog.DiscardHandler)
	s, err := New(Config{Static: true, APIRate: MaxAPIRate, APIBurst: 1 << 30, DiagnoseBurst: 1 << 30}, publish.New(publish.Config{}, rules.NewEngine(p), nil, log), nil, log)
	if err != nil {
		return knowledge.Problems{{File: "rules", Message: "rendering the site's pages: " + err.Error()}}
	}
	defer s.Close()
	pages, err := s.site.Pages(ctx)
	if err != nil {
		return knowledge.Problems{{File: "rules", Message: "rendering the site's pages: " + err.Error()}}
	}
	h := s.Handler()
	for _, path := range pages {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			return knowledge.Problems{{File: "rules", Message: fmt.Sprintf("rendering the page %s: status %d", path, rec.Code)}}
		}
		if n := rec.Body.Len(); n > limit {
			return knowledge.Problems{{File: "locales", Message: fmt.Sprintf("the page %s would be %d KB, more than the %d KB a page may be: shorten the texts it shows", path, n>>10, limit>>10)}}
		}
	}
	return nil
}
