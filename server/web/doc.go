// Package web holds the pieces of the HTTP surfaces (server/api, the site,
// the admin area) that more than one of them needs: the per-client rate
// limits and the body limit (Echo middleware), and the finding and
// continuing of kept decisions (Kept) that the decisions API and the
// admin look-up share.
//
// It depends on the domain packages (answer, knowledge, rules, store,
// flow, locales) and Echo only. Nothing here imports package server or a
// surface: the arrows run from server to the surfaces to web.
package web
