// Package server is Acceso's HTTP face: the JSON API for integrations, the
// bilingual help site and the admin area, all answering from the same rules
// engine. Diagnose is the single path from a request to an answer; the API,
// the help site and the command line all go through it.
package server
