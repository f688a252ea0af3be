package server

import (
	_ "embed" // the OpenAPI document
	"encoding/json"
	"fmt"
	"slices"

	"acceso/answer"
	"acceso/rules"
)

// openAPIBase is the API's OpenAPI 3 document as written, but for the
// Facts and AdminFacts schemas, which OpenAPI fills in from the facts the
// rules declare.
//
//go:embed openapi.json
var openAPIBase []byte

// OpenAPI is the API's OpenAPI 3 document for the rules p: the document as
// written, with the Facts schema made from p's fact declarations, so that
// a fact added to the rules is described without a release.
func OpenAPI(p *rules.Policy) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIBase, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	if schemas == nil {
		return nil, fmt.Errorf("openapi.json has no components.schemas")
	}
	schemas["Facts"] = answer.FactsSchema(p.Catalog)
	// A continue takes only what an admin checks.
	admin := p.Catalog
	admin.Facts = slices.DeleteFunc(slices.Clone(admin.Facts), func(f rules.Fact) bool { return f.AskedOf != rules.AskedOfAdmin })
	adminFacts := answer.FactsSchema(admin)
	adminFacts["description"] = "A support agent's answers: the facts only an admin can check (asked_of admin), as the rules declare them. Every one is optional; absent or null is unknown."
	schemas["AdminFacts"] = adminFacts
	return json.MarshalIndent(doc, "", "  ")
}

// openAPIDoc is the document for one revision, made once.
type openAPIDoc struct {
	revision string
	body     []byte
}

// openAPI returns the document for the rules being served, made again only
// when the revision changes.
func (s *Server) openAPI() ([]byte, error) {
	p := s.engine.Current()
	if d := s.openAPICache.Load(); d != nil && d.revision == p.Revision {
		return d.body, nil
	}
	body, err := OpenAPI(p)
	if err != nil {
		return nil, err
	}
	s.openAPICache.Store(&openAPIDoc{revision: p.Revision, body: body})
	return body, nil
}
