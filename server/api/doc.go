// Package api is Acceso's JSON API for integrations: POST /api/v1/evaluate,
// GET /api/v1/causes, the kept decisions (GET /api/v1/decisions/{reference}
// and its continue, for an API key with their scope), the OpenAPI document,
// and the probes /healthz and /readyz beside them.
//
// It depends on what New is given (Deps): the rules engine, the answer
// service (the one path to an answer, owned by package server), the store
// (API keys, kept decisions), the finder of kept decisions (web.Kept) and
// whether the server is draining. It imports server/web for the pieces
// every surface shares, and never package server, which assembles it:
// server registers its Routes, answers its errors (JSON under /api/) and
// counts and logs its decisions.
package api
