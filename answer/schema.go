package answer

import (
	"acceso/rules"
)

// FactsSchema is the JSON Schema (the OpenAPI 3.0 dialect) of a request's
// facts, made from the facts cat declares: the Facts component of the
// OpenAPI document. Each fact is optional and nullable (null is unknown);
// no other property is allowed.
func FactsSchema(cat rules.Catalog) map[string]any {
	props := make(map[string]any, len(cat.Facts))
	for _, f := range cat.Facts {
		var s map[string]any
		switch f.Type {
		case rules.TypeBoolean:
			s = map[string]any{"type": "boolean"}
		case rules.TypeCount:
			s = map[string]any{"type": "integer", "minimum": 0, "maximum": rules.MaxCount}
		case rules.TypeString:
			s = map[string]any{"type": "string", "minLength": 1, "maxLength": rules.MaxStringLen, "pattern": `\S`}
		case rules.TypeStrings:
			s = map[string]any{"type": "array", "maxItems": rules.MaxListLen,
				"items": map[string]any{"type": "string", "maxLength": rules.MaxStringLen}}
		case rules.TypeChoices:
			s = map[string]any{"type": "array", "maxItems": rules.MaxListLen,
				"items": map[string]any{"type": "string", "enum": f.Choices}}
		default:
			continue
		}
		s["nullable"] = true
		s["description"] = f.Description
		if f.Personal {
			s["description"] = f.Description + " Personal data: never logged, stored or put in a URL."
		}
		if f.Asked() {
			s["x-asked-of"] = f.AskedOf
		}
		props[f.Name] = s
	}
	return map[string]any{"type": "object", "additionalProperties": false, "properties": props,
		"description": "What is known about the contact and the attempt, as the rules declare it. Every fact is optional; absent or null is unknown, and unknown is not false."}
}
