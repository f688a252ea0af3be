// Package templates holds the help site's pages as templ components.
// layout.templ is the page shell every page is composed into; each other
// file is one page or one part of a page. A page takes a small view model
// prepared by the server and reads its own texts with locales.T(ctx, id), so
// that the texts come from the policy being served, in the request's
// language. Nothing here decides anything: what a diagnosis finds and asks
// comes from the rules engine, through the view model.
package templates
