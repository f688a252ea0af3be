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
#   It is the default topic: the one a request without a topic or a
#   symptom gets, served at the site's addresses without a topic.
# custom:
#   default: true
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
	"known": known,
}

# METADATA
# title: Scope
# description: The symptoms considered; all three when the request names none.
scope := [input.symptom] if {
	input.symptom
} else := symptoms

# METADATA
# title: Findings
# description: |
#   The likely causes in scope. The facts each rests on (the API's
#   because) are read from the cause's rule by the engine, which follows
#   what the rule reads: nothing is listed by hand.
findings := {id | some id, [_, "likely"] in _in_scope}

# METADATA
# title: Ruled out
# description: The causes in scope that the known facts exclude.
ruled_out := {id | some id, [_, "ruled_out"] in _in_scope}

# METADATA
# title: To try
# description: |
#   The open causes in scope whose advice a contact can follow without
#   knowing the answer, as causes.rego declares (contact_can_try). An open
#   cause is neither likely nor ruled out, so a cause is in at most one of
#   findings, ruled_out and to_try.
to_try := {id |
	some id, [_, "open"] in _in_scope
	id in contact_can_try
}

# METADATA
# title: Questions
# description: |
#   The facts that could still change the answer: unknown facts someone
#   can be asked about (facts.rego) with an answer that would settle an
#   open cause in scope. The answers tried are those the question offers:
#   yes and no, or every combination of a fact's choices.
questions := {f |
	some f in _unknown_read
	_could_settle(f, facts[f])
}

# METADATA
# title: Known
# description: |
#   The declared facts the request gives (a null is no answer) or the
#   rules derive: the engine lists, for each finding, those its rule reads.
known contains f if {
	some f, _ in facts
	input.facts[f] != null
}

known contains f if {
	some f, v in derived
	v != null
	facts[f]
}

# METADATA
# title: Outcome
# description: causes_found, needs_answers or no_known_cause.
outcome := "causes_found" if {
	some [_, "likely"] in _in_scope
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

# The verdicts of the causes in scope, by cause id, each with its symptom,
# computed once.
_in_scope := {id: [s, verdict] | some s in scope; some id, verdict in cause[s]}

# identifier_registered as the rules see it: derived from the identifier
# and the contact card when both are given (a derived value beats a direct
# answer), else the direct answer; undefined when neither is known.
_identifier_registered := v if {
	v := derived.identifier_registered
} else := input.facts.identifier_registered

# The answers a question about a fact offers: yes and no, or any
# combination of its choices (the empty one included).
_answers(decl) := {true, false} if decl.type == "boolean"

_answers(decl) := {subset |
	some n in numbers.range(0, _powers_of_two[count(decl.choices)] - 1)
	subset := [c | some i, c in decl.choices; floor(n / _powers_of_two[i]) % 2 == 1]
} if decl.type == "choices"

# A fact asked about has at most four choices (see facts.rego).
_powers_of_two := [1, 2, 4, 8, 16]

# The facts as the causes see them: the derived facts in place of the
# personal facts they come from, which no cause reads (the engine refuses
# one that does), so that trying an answer does not derive them again.
# When nothing is derived, the request's facts as they are: the personal
# facts among them derive nothing there either, and nothing is copied.
_as_seen := object.union(object.remove(input.facts, _personal), derived) if {
	count(derived) > 0
} else := object.get(input, "facts", {})

_personal := {f | some f, decl in facts; decl.personal}

# The facts each cause's rule reads, by cause id, so that only answers
# that could settle a cause are tried. The rules alone (stock opa eval and
# opa test) do not know them, and try every unknown fact; the engine gives
# them in its query (with data.login._reads as …), as OPA's dependency
# analysis finds them in each cause's rule and its helpers. A verdict can
# change only with a fact its rule reads, so this changes no answer.
default _reads := {}

# The unknown facts someone can be asked about that an open cause in scope
# may read (every unknown fact when the engine does not say what the causes
# read): the questions are among them.
_unknown_read := {f |
	some [_, id] in _open
	some f in _reads[id]
	facts[f].asked_of
	not f in known
} if {
	count(_reads) > 0
} else := {f |
	some f, decl in facts
	decl.asked_of
	not f in known
}

# Some answer to f would settle an open cause in scope: with it, the cause
# is likely or ruled out. The first such answer is enough.
_could_settle(f, decl) if {
	open := _open
	some answer in _answers(decl)
	seen := object.union(_as_seen, {f: answer})
	_settles_one(open) with input.facts as seen
}

# One of the open causes (as _open gives them) is no longer open; the
# first found is enough.
_settles_one(open) if {
	some [s, id] in open
	cause[s][id] != "open"
}

# The open causes in scope, each as [symptom, id].
_open := [[s, id] | some id, [s, "open"] in _in_scope]

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

# Phones match on their digits and a leading +: the same digits (at least
# one), and a leading + on both or on neither. Written out rather than as a
# function of each phone: a function call costs topdown more than the
# builtins it calls.
_matches_card if {
	not contains(input.facts.identifier, "@")
	identifier := trim_space(input.facts.identifier)
	digits := regex.replace(identifier, `[^0-9]`, "")
	digits != ""
	some p in input.facts.registered_phones
	phone := trim_space(p)
	regex.replace(phone, `[^0-9]`, "") == digits
	startswith(phone, "+") == startswith(identifier, "+")
}
