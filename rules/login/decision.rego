# METADATA
# title: Login troubleshooting
# description: |
#   The help-center article on contacts who cannot log in with a one-time
#   code, as rules. causes.rego holds one rule per cause; this file puts their
#   verdicts together into the answer the engine gives: the symptoms in scope,
#   the likely causes, the ones ruled out, the questions still worth asking and
#   the outcome, all in the article's order.
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
	"questions": questions,
}

# METADATA
# title: Scope
# description: The symptoms considered, in article order; all three when the request names none.
scope := [input.symptom] if {
	input.symptom
} else := symptoms

# METADATA
# title: Findings
# description: The likely causes in scope, with the known facts each rests on.
findings := [finding |
	some v in _considered
	v.likely
	finding := {
		"id": v.cause.id,
		"symptom": v.cause.symptom,
		"because": [f | some f in v.cause.facts; object.get(_facts, f, null) != null],
	}
]

# METADATA
# title: Ruled out
# description: The causes in scope that the known facts exclude.
ruled_out := [v.cause.id | some v in _considered; [v.likely, v.ruled_out] == [false, true]]

# METADATA
# title: Questions
# description: |
#   The unknown facts that could still change the answer: those an open cause
#   rests on, each once, in the order of the causes and of their facts.
questions := [{"fact": f, "type": _question_type[facts[f].type]} |
	some i, f in _asked
	not f in array.slice(_asked, 0, i)
]

# METADATA
# title: Outcome
# description: causes_found, needs_answers or no_known_cause.
outcome := "causes_found" if {
	count(findings) > 0
} else := "needs_answers" if {
	count(questions) > 0
} else := "no_known_cause"

_question_type := {"boolean": "boolean", "choices": "multiple_choice"}

# The verdicts in scope, in article order.
_considered := [v | some [_, v] in sort([[v.cause.order, v] | some v in verdicts; v.cause.symptom in scope])]

_asked := [f |
	some v in _considered
	[v.likely, v.ruled_out] == [false, false]
	some f in v.cause.facts
	facts[f].asked_of
	object.get(_facts, f, null) == null
]

# The facts as the rules see them: the request's facts, with
# identifier_registered derived when the identifier and the card are given.
_facts := object.union(_given, {"identifier_registered": _matches_card}) if {
	_derivable
} else := _given

_given := object.get(input, "facts", {})

_derivable if {
	_given.identifier
	_has_card_list
}

_has_card_list if _given.registered_emails

_has_card_list if _given.registered_phones

default _matches_card := false

_matches_card if _email_key(_given.identifier) in {_email_key(e) | some e in _given.registered_emails}

_matches_card if {
	not contains(_given.identifier, "@")
	_phone_key(_given.identifier) in {_phone_key(p) | some p in _given.registered_phones}
}

_email_key(s) := lower(trim_space(s))

# Digits only, with a leading + kept; undefined when there are no digits.
_phone_key(s) := key if {
	trimmed := trim_space(s)
	digits := regex.replace(trimmed, `[^0-9]`, "")
	digits != ""
	key := concat("", [_plus(trimmed), digits])
}

_plus(s) := "+" if startswith(s, "+")

else := ""

default _channels := set()

_channels := {c | some c in _facts.channels_tried}

default _channels_known := false

_channels_known if _facts.channels_tried
