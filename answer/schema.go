package answer

import "acceso/knowledge"

// FactsSchema is the JSON Schema (the OpenAPI 3.0 dialect) of a request's
// facts, made from the facts cat declares: the Facts component of the
// OpenAPI document. Each fact is optional and nullable (null is unknown);
// no other property is allowed.
func FactsSchema(cat knowledge.Catalog) map[string]any {
	props := make(map[string]any, len(cat.Facts))
	for _, f := range cat.Facts {
		var s map[string]any
		switch f.Type {
		case knowledge.TypeBoolean:
			s = map[string]any{"type": "boolean"}
		case knowledge.TypeCount:
			s = map[string]any{"type": "integer", "minimum": 0, "maximum": knowledge.MaxCount}
		case knowledge.TypeString:
			s = map[string]any{"type": "string", "minLength": 1, "maxLength": knowledge.MaxStringLen, "pattern": `\S`}
		case knowledge.TypeStrings:
			s = map[string]any{"type": "array", "maxItems": knowledge.MaxListLen,
				"items": map[string]any{"type": "string", "maxLength": knowledge.MaxStringLen}}
		case knowledge.TypeChoices:
			s = map[string]any{"type": "array", "maxItems": knowledge.MaxListLen,
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
