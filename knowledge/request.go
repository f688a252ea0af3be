package knowledge

// Request is a validated request: an optional symptom, an optional language
// hint and the known facts. A fact that is absent is unknown.
type Request struct {
	Symptom string
	Lang    string
	// Facts holds each known fact as bool, int, string or []string.
	Facts map[string]any
}
