# METADATA
# title: Notifications on the phone
# description: |
#   The help-center article on contacts whose phone does not show the
#   platform's notifications, as rules. causes.rego gives each cause its
#   verdict; this file puts the verdicts of the symptoms in scope together
#   into the engine's answer, as every topic's decision.rego does.
package notifications

# METADATA
# title: Symptoms
# description: The article's two questions, in the article's order.
symptoms := ["notifications_missing", "notifications_late"]

# METADATA
# title: Decision
# description: The whole answer for one request; the engine's query for this topic.
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
# description: The symptoms considered; both when the request names none.
scope := [input.symptom] if {
	input.symptom
} else := symptoms

# METADATA
# title: Findings
# description: The likely causes in scope.
findings := {id | some id, [_, "likely"] in _in_scope}

# METADATA
# title: Ruled out
# description: The causes in scope that the known facts exclude.
ruled_out := {id | some id, [_, "ruled_out"] in _in_scope}

# METADATA
# title: To try
# description: The open causes in scope whose advice a contact can follow without knowing the answer.
to_try := {id |
	some id, [_, "open"] in _in_scope
	id in contact_can_try
}

# METADATA
# title: Questions
# description: The unknown facts someone can be asked about whose answer would settle an open cause in scope.
questions := {f |
	some f in _unknown_read
	_could_settle(f, facts[f])
}

# METADATA
# title: Known
# description: The declared facts the request gives (a null is no answer).
known := {f | some f, _ in facts; input.facts[f] != null}

# METADATA
# title: Outcome
# description: causes_found, needs_answers or no_known_cause.
outcome := "causes_found" if {
	some [_, "likely"] in _in_scope
} else := "needs_answers" if {
	count(questions) > 0
} else := "no_known_cause"

_in_scope := {id: [s, verdict] | some s in scope; some id, verdict in cause[s]}

_answers(decl) := {true, false} if decl.type == "boolean"

# The facts each cause's rule reads, as the engine gives them (with
# data.notifications._reads as …); the rules alone try every unknown fact.
default _reads := {}

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

_could_settle(f, decl) if {
	open := _open
	some answer in _answers(decl)
	seen := object.union(object.get(input, "facts", {}), {f: answer})
	_settles_one(open) with input.facts as seen
}

_settles_one(open) if {
	some [s, id] in open
	cause[s][id] != "open"
}

_open := [[s, id] | some id, [s, "open"] in _in_scope]
