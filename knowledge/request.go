package knowledge

// Request is a validated request: an optional topic, an optional symptom,
// an optional language hint and the known facts. A fact that is absent is
// unknown. A request naming no topic goes to its symptom's topic, or to
// the default topic (Catalog.TopicOf).
type Request struct {
	Topic   string
	Symptom string
	Lang    string
	// Facts holds each known fact as bool, int, string or []string.
	Facts map[string]any
}
