// Package bundle serves the rules being served as an OPA bundle (GET
// /bundles/{name}.tar.gz), for an OPA configured with Acceso as its bundle
// service, so that it decides exactly as Acceso does.
//
// It depends on the rules engine and the bearer token New is given, and on
// server/web for the per-address limit of failed tokens; never on package
// server, which registers its Routes.
package bundle
