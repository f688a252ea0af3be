// Package site is Acceso's bilingual help site for contacts: the home
// page, the article, the contacts' help page, the self-diagnosis, the
// language switch, the feedback form, the static files, robots.txt and
// the sitemap, and the site's error page.
//
// It depends on what New is given (Deps): the rules engine, the answer
// service (the one path to an answer, which keeps the decisions), the
// store (feedback, kept decisions), the key that signs feedback tokens and
// shown references, the clock, the counter of steps for the insights and
// the explorer of the self-diagnosis (the sitemap). It imports server/web
// for the pieces every surface shares, and never package server, which
// registers its Routes, answers its errors with its ErrorPage and writes
// the static export from its pages.
package site
