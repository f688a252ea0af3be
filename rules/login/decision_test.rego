# How the verdicts of the causes become one answer, as properties that
# hold for every cause and every fact: a new fact or cause is covered by
# them without changing a line here. The samples are made from the fact
# declarations: nothing known, every fact at once with one answer or the
# other, and each fact alone with each of its answers; with no symptom,
# and (but for the single facts) with each symptom.
package login_test

import data.login

# Answers a sample may give a fact: yes and no, some and none of the
# choices, one and several codes. Personal facts are left to the
# derivation tests below.
sample_answers(decl) := [true, false] if decl.type == "boolean"

sample_answers(decl) := [decl.choices, [], [decl.choices[0]]] if decl.type == "choices"

sample_answers(decl) := [3, 1] if decl.type == "count"

sample_facts contains {}

sample_facts contains {f: answers[i] |
	some f, decl in login.facts
	answers := sample_answers(decl)
} if {
	some i in [0, 1]
}

sample_facts contains {f: v} if {
	some f, decl in login.facts
	some v in sample_answers(decl)
}

# Every sample with no symptom (every cause in scope), and with each
# symptom nothing known and every fact known one way or the other.
samples contains {"facts": facts} if {
	some facts in sample_facts
}

samples contains {"symptom": s, "facts": facts} if {
	some facts in sample_facts
	count(facts) != 1
	some s in login.symptoms
}

# The causes of the symptoms in scope.
causes_in(scope) := {id | some s in scope; some id, _ in login.cause[s]}

answer(inp) := a if {
	a := login.decision with input as inp
}

test_every_cause_in_scope_is_found_ruled_out_or_open if {
	every inp in samples {
		d := answer(inp)
		in_scope := causes_in(d.symptoms)
		every id in in_scope {
			count({place | some place in ["findings", "ruled_out", "to_try"]; id in d[place]}) <= 1
		}
		count(((d.findings | d.ruled_out) | d.to_try) - in_scope) == 0
	}
}

test_to_try_are_open_causes_a_contact_can_try if {
	every inp in samples {
		d := answer(inp)
		count(d.to_try - login.contact_can_try) == 0
		count(d.to_try & (d.findings | d.ruled_out)) == 0
	}
	every s in login.symptoms {
		answer({"symptom": s, "facts": {}}).to_try == causes_in([s]) & login.contact_can_try
	}
}

test_unknown_is_not_false if {
	every inp in [{}, {"facts": {}}] {
		count(answer(inp).findings) == 0
		count(answer(inp).ruled_out) == 0
		answer(inp).outcome == "needs_answers"
	}
}

test_questions_are_unknown_facts_someone_is_asked if {
	every inp in samples {
		every f in answer(inp).questions {
			login.facts[f].asked_of
			not inp.facts[f]
			not inp.facts[f] == false
		}
	}
}

# What the findings and causes ruled out are for inp (without the
# questions, which take longer to work out).
verdicts(inp) := {"findings": f, "ruled_out": r} if {
	f := login.findings with input as inp
	r := login.ruled_out with input as inp
}

with_fact(inp, f, v) := object.union(inp, {"facts": object.union(object.get(inp, "facts", {}), {f: v})})

# A question is asked exactly when some answer to it would change the
# causes found or ruled out.
test_a_question_is_asked_when_its_answer_can_change_the_verdicts if {
	every inp in [{"symptom": s, "facts": {}} | some s in login.symptoms] {
		every f in answer(inp).questions {
			some v in sample_answers(login.facts[f])
			verdicts(with_fact(inp, f, v)) != verdicts(inp)
		}
	}
}

test_a_fact_is_not_asked_when_no_answer_can_change_the_verdicts if {
	every inp in [{"symptom": s, "facts": {}} | some s in login.symptoms] {
		every f, decl in login.facts {
			asked_or_inert(inp, f, decl)
		}
	}
}

asked_or_inert(_, _, decl) if not decl.asked_of

asked_or_inert(inp, f, _) if f in answer(inp).questions

asked_or_inert(inp, f, decl) if {
	every v in sample_answers(decl) {
		verdicts(with_fact(inp, f, v)) == verdicts(inp)
	}
}

test_outcome_follows_findings_then_questions if {
	every inp in samples {
		d := answer(inp)
		d.outcome == expected_outcome(d)
	}
}

expected_outcome(d) := "causes_found" if {
	count(d.findings) > 0
} else := "needs_answers" if {
	count(d.questions) > 0
} else := "no_known_cause"

test_known_are_the_facts_given_or_derived if {
	every inp in samples {
		answer(inp).known == {f | some f, v in inp.facts; v != null}
	}
	answer({"facts": {"opted_out": null}}).known == set()
	answer({"facts": {"identifier": "ana@example.com", "registered_emails": ["ana@example.com"]}}).known == {"identifier", "registered_emails", "identifier_registered"}
}

# Scope: a symptom limits the answer to its own causes.

test_no_symptom_considers_every_symptom if {
	answer({"facts": {}}).symptoms == login.symptoms
	answer({}).symptoms == login.symptoms
}

test_each_symptom_alone_is_in_scope if {
	every s in login.symptoms {
		answer({"symptom": s, "facts": {}}).symptoms == [s]
	}
}

# Derivation: the identifier compared with the contact card gives
# identifier_registered, which beats a direct answer.

registered(facts) := r if {
	r := login.derived.identifier_registered with input as {"facts": facts}
}

test_email_on_card_matches_ignoring_case_and_spaces if {
	registered({"identifier": " Ana@Example.COM ", "registered_emails": ["other@example.com", "ana@example.com"]}) == true
	registered({"identifier": "ana@example.org", "registered_emails": ["ana@example.com"]}) == false
}

test_phone_on_card_matches_on_digits_and_plus if {
	registered({"identifier": "+34 600-111 222", "registered_phones": ["+34600111222"]}) == true
	registered({"identifier": "34600111222", "registered_phones": ["+34600111222"]}) == false
	registered({"identifier": "+34 600 111 222", "registered_emails": ["ana@example.com"], "registered_phones": ["+34 600 999 999", "+34-600-111-222"]}) == true
	registered({"identifier": "+34 600 111 222", "registered_phones": ["34600111222"]}) == false
	registered({"identifier": " +34600111222", "registered_phones": ["  +34 600 111 222 "]}) == true
	registered({"identifier": "600 111 222", "registered_phones": ["600-111-222"]}) == true
}

test_a_phone_without_digits_never_matches if {
	registered({"identifier": "phone", "registered_phones": ["phone"]}) == false
	registered({"identifier": "+", "registered_phones": ["+"]}) == false
}

test_email_identifier_never_matches_a_phone_on_the_card if {
	registered({"identifier": "ana@example.com", "registered_phones": ["+34600111222"]}) == false
	registered({"identifier": "600111222@example.com", "registered_phones": ["600111222"]}) == false
}

test_derived_beats_a_direct_answer if {
	registered({"identifier": "ana@example.com", "registered_emails": ["ana@example.com"], "identifier_registered": false}) == true
	registered({"identifier": "+34 600 111 222", "registered_phones": ["+34 600 999 999"], "identifier_registered": true}) == false
}

test_derived_is_empty_without_identifier_and_card if {
	login.derived == {} with input as {"facts": {"identifier": "ana@example.com"}}
	login.derived == {} with input as {"facts": {"registered_emails": ["ana@example.com"]}}
	login.derived == {} with input as {"facts": {"identifier_registered": true}}
}

test_a_derived_fact_is_not_asked if {
	inp := {"facts": {"identifier": "+34600111222", "registered_phones": ["+34 600 111 222"]}}
	not "identifier_registered" in answer(inp).questions
	"identifier_registered" in answer({"facts": {"identifier": "ana@example.com"}}).questions
}
