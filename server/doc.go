// Package server assembles Acceso's HTTP face: the JSON API for
// integrations (server/api), the bilingual help site (server/site), the
// admin area (server/admin), the OPA bundle (server/bundle) and, beside
// them, the static export (server/export). Each surface is a package of
// its own whose New takes its dependencies explicitly; none imports this
// package, and what several share lies below them in server/web.
//
// This package holds what is the whole server's: Config (validated by New),
// New, Run and the drain on shutdown, the Echo instance and the middleware
// every request goes through (request log, metrics, panics, security
// headers, body limit), the one error handler (JSON under /api/, the admin
// area's or the site's error page), the metrics listener, and the answer
// service. answer.Service is the single path from a request to an answer:
// the API's evaluate, the site's self-diagnosis, the admin look-up and the
// decisions API all ask the server's one Service (its evaluation slots,
// deadline, failure metrics, decision log and kept decisions), and the
// command line asks one of its own without a server around it.
package server
