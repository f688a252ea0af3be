package api

import (
	_ "embed" // the OpenAPI document
	"encoding/json"
	"fmt"
	"slices"

	"acceso/answer"
	"acceso/knowledge"
	"acceso/rules"
)

// openAPIBase is the API's OpenAPI 3 document as written, but for the
// Facts and AdminFacts schemas, which OpenAPI fills in from the facts the
// rules declare, and the enums of symptom and cause ids (SymptomId,
// CauseId, the request's symptom), which it fills in from their causes.
//
//go:embed openapi.json
var openAPIBase []byte

// OpenAPI is the API's OpenAPI 3 document for the rules p: the document as
// written, with the Facts schema made from p's fact declarations and the
// symptom and cause ids p names listed as enums, so that a fact or a cause
// added to the rules is described without a release.
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
	admin.Facts = slices.DeleteFunc(slices.Clone(admin.Facts), func(f knowledge.Fact) bool { return f.AskedOf != knowledge.AskedOfAdmin })
	adminFacts := answer.FactsSchema(admin)
	adminFacts["description"] = "A support agent's answers: the facts only an admin can check (asked_of admin), as the rules declare them. Every one is optional; absent or null is unknown."
	schemas["AdminFacts"] = adminFacts
	if err := setIDs(schemas, p.Catalog); err != nil {
		return nil, err
	}
	return json.MarshalIndent(doc, "", "  ")
}

// setIDs lists the ids the rules name as enums: the TopicId, SymptomId and
// CauseId schemas, which the answers refer to, and the request's topic and
// symptom, where the empty string also means the default topic, or every
// symptom of the topic. Rules that name none (no
// rules at all) leave them open strings: an empty enum matches nothing.
func setIDs(schemas map[string]any, cat knowledge.Catalog) error {
	causes := make([]string, len(cat.Causes))
	for i, c := range cat.Causes {
		causes[i] = c.ID
	}
	topics := slices.DeleteFunc(cat.TopicNames(), func(t string) bool { return t == "" })
	for name, ids := range map[string][]string{"TopicId": topics, "SymptomId": cat.Symptoms, "CauseId": causes} {
		schema, ok := schemas[name].(map[string]any)
		if !ok {
			return fmt.Errorf("openapi.json has no components.schemas.%s", name)
		}
		if len(ids) > 0 {
			schema["enum"] = slices.Clone(ids)
		}
	}
	req, _ := schemas["EvaluateRequest"].(map[string]any)
	props, _ := req["properties"].(map[string]any)
	symptom, ok := props["symptom"].(map[string]any)
	if !ok {
		return fmt.Errorf("openapi.json has no components.schemas.EvaluateRequest.properties.symptom")
	}
	if len(cat.Symptoms) > 0 {
		symptom["enum"] = append([]string{""}, cat.Symptoms...)
	}
	topic, ok := props["topic"].(map[string]any)
	if !ok {
		return fmt.Errorf("openapi.json has no components.schemas.EvaluateRequest.properties.topic")
	}
	if len(topics) > 0 {
		topic["enum"] = append([]string{""}, topics...)
	}
	return nil
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
