// Package server is Acceso's HTTP face: the JSON API for integrations, the
// bilingual help site and the admin area, all answering from the same rules
// engine. answer.Service is the single path from a request to an answer:
// the API's evaluate, the site's self-diagnosis, the admin look-up and the
// decisions API all ask the server's one Service (its evaluation slots,
// deadline, failure metrics, decision log and kept decisions), and the
// command line asks one of its own without a server around it.
package server
