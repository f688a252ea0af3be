// Package knowledge holds Acceso's domain types: the request (a symptom, a
// language hint, the known facts), the one Decision the rules reach, the
// catalog the rules declare (symptoms, causes, facts and their limits), the
// Source a revision of the rules is made of, the problems that keep a
// source from being served, and the references that name kept decisions.
//
// It imports no OPA: the engine (package rules, the OPA adapter), the store
// and every surface share these types, and only the engine compiles OPA.
// A test (TestNoOPA) keeps it so.
package knowledge
