// Package export writes the help site as static files (acceso export):
// every page the self-diagnosis can reach, in every language, the root's
// language chooser, 404.html, robots.txt, the sitemap and the hashed
// static files, into a new folder, atomically.
//
// It depends on what New is given (Deps): the site (its pages and files),
// the handler that renders a page as the server answers it, the rules
// engine and the explorer of the self-diagnosis. It never imports package
// server, which gives it its own handler (Server.Export).
package export
