package web

import (
	"context"

	"github.com/a-h/templ"

	"acceso/answer"
)

// ErrorPage is an error page ready to render: its component, and the
// context (with its localizer) and language to render it in. Each surface
// with pages makes its own; server's one error handler renders it.
type ErrorPage struct {
	Lang      string
	Ctx       context.Context
	Component templ.Component
}

// ErrorTexts are the message ids of the title and text a page shows for an
// error code; prefix is "Error" for the site and "AdminError" for admin.
func ErrorTexts(prefix, code string) (title, text string) {
	name := "Server"
	switch code {
	case answer.CodeInvalidJSON, answer.CodeInvalidFacts, answer.CodeBadRequest, answer.CodeTooLarge, answer.CodeUnsupportedMediaType:
		name = "BadRequest"
	case answer.CodeNotFound, answer.CodeMethodNotAllowed:
		name = "NotFound"
	case answer.CodeForbidden, answer.CodeUnauthorized:
		name = "Forbidden"
	case answer.CodeTooManyRequests, answer.CodeOverloaded:
		name = "TooMany"
	case answer.CodeUnavailable:
		// Only the admin area has words of its own for it; the site's
		// "something failed, try again in a few minutes" fits.
		if prefix == "AdminError" {
			name = "Unavailable"
		}
	}
	return prefix + name + "Title", prefix + name + "Text"
}
