// Package admin is Acceso's admin area under /admin/: sign-in (sessions,
// per-name throttling, known devices, CSRF bound to the session), the
// rules and their drafts (edit, new fact, new cause, check, preview,
// publish, roll back), the feedback, the insights, the look-up of a
// contact's reference, the flow map and the API keys.
//
// It depends on what New is given (Deps): the publisher (and its engine),
// the store, the admin texts built into the binary, the clock, the key of
// the device cookies, the explorer of the self-diagnosis (the flow map)
// and the finder of kept decisions (web.Kept) it shares with the
// decisions API. It imports server/web for the pieces every surface
// shares, and never package server, which registers its Routes and
// answers its errors with an admin page.
package admin
