# METADATA
# title: Login troubleshooting
# description: |
#   The help-center article on contacts who cannot log in with a one-time
#   code, as rules. causes.rego gives each cause its verdict; this file puts
#   the verdicts of the symptoms in scope together into the engine's answer:
#   the likely causes and the facts they rest on, the causes ruled out, the
#   open causes a contact can try, the facts still worth asking about and
#   the outcome. The engine orders them
#   by the keys the rules declare (the causes' article order, the facts'
#   asking order).
package login

# METADATA
# title: Symptoms
# description: The article's three questions, in the article's order.
symptoms := ["code_not_received", "code_needed_often", "code_not_accepted"]

# METADATA
# title: Decision
# description: The whole answer for one request; the engine's only query.
decision := {
	"symptoms": scope,
	"outcome": outcome,
	"findings": findings,
	"ruled_out": ruled_out,
	"to_try": to_try,
	"questions": questions,
}

# METADATA
# title: Scope
# description: The symptoms considered; all three when the request names none.
scope := [input.symptom] if {
	input.symptom
} else := symptoms

# METADATA
# title: Findings
# description: The likely causes in scope, each with the known facts it rests on.
findings := {id: [f | some f in data.acceso.causes[id].facts; f in _known] |
	some id, "likely" in _verdicts
}

# METADATA
# title: Ruled out
# description: The causes in scope that the known facts exclude.
ruled_out := {id | some id, "ruled_out" in _verdicts}

# METADATA
# title: To try
# description: |
#   The open causes in scope whose advice a contact can follow without
#   knowing the answer, as their metadata declares (custom.contact_can_try).
#   An open cause is neither likely nor ruled out, so a cause is in at most
#   one of findings, ruled_out and to_try.
to_try := {id |
	some id, "open" in _verdicts
	data.acceso.causes[id].contact_can_try == true
}

# METADATA
# title: Questions
# description: |
#   The facts that could still change the answer: unknown facts that
#   someone can be asked about and that an open cause in scope rests on.
questions := {f |
	some id, "open" in _verdicts
	some f in data.acceso.causes[id].facts
	not f in _known
	facts[f].asked_of
}

# METADATA
# title: Outcome
# description: causes_found, needs_answers or no_known_cause.
outcome := "causes_found" if {
	"likely" in _verdicts
} else := "needs_answers" if {
	count(questions) > 0
} else := "no_known_cause"

# METADATA
# title: Derived
# description: |
#   The facts the rules derive from personal facts, with their derived
#   values: identifier_registered when the identifier and the contact card
#   are both given, else nothing. Personal facts count for the answer only
#   through this rule, so the engine may reuse an answer for requests that
#   agree on their non-personal facts and on what is derived here, without
#   keeping any personal data.
derived := {"identifier_registered": _matches_card} if {
	_derivable
} else := {}

# The verdicts of the causes in scope, by cause id, computed once.
_verdicts := {id: verdict | some s in scope; some id, verdict in cause[s]}

# identifier_registered as the rules see it: derived from the identifier
# and the contact card when both are given (a derived value beats a direct
# answer), else the direct answer.
_identifier_registered := object.get(derived, "identifier_registered", object.get(input.facts, "identifier_registered", null))

# The facts known: given (a null is no answer), or derived.
_known := {f | some f, v in input.facts; v != null} | object.keys(derived)

_derivable if {
	input.facts.identifier
	input.facts.registered_emails
}

_derivable if {
	input.facts.identifier
	input.facts.registered_phones
}

default _matches_card := false

# Emails match ignoring case and surrounding spaces.
_matches_card if {
	some e in input.facts.registered_emails
	lower(trim_space(e)) == lower(trim_space(input.facts.identifier))
}

# Phones match on their digits and a leading +.
_matches_card if {
	not contains(input.facts.identifier, "@")
	key := _phone_key(input.facts.identifier)
	some p in input.facts.registered_phones
	_phone_key(p) == key
}

# Digits only, with a leading + kept; undefined when there are no digits.
_phone_key(s) := key if {
	trimmed := trim_space(s)
	digits := regex.replace(trimmed, `[^0-9]`, "")
	digits != ""
	key := concat("", [_plus(trimmed), digits])
}

_plus(s) := "+" if startswith(s, "+")

else := ""
