# How the verdicts of the causes become one answer: identifier_registered
# derived from the contact card, the symptoms in scope, the article's order,
# the questions still worth asking and the outcome.
package login_test

import data.login

# Derivation: the identifier compared with the contact card.

test_email_on_card_matches_ignoring_case_and_spaces if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier": " Ana@Example.COM ",
		"registered_emails": ["other@example.com", "ana@example.com"],
	}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"identifier_not_registered"} with input as inp
}

test_email_not_on_card_finds_use_the_registered_email if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier": "ana@example.org",
		"registered_emails": ["ana@example.com"],
	}}
	login.findings == {"identifier_not_registered": ["identifier_registered"]} with input as inp
	count(login.ruled_out) == 0 with input as inp
}

test_phone_on_card_matches_on_digits_and_plus if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier": "+34 600-111 222",
		"registered_phones": ["+34600111222"],
	}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"identifier_not_registered"} with input as inp
}

test_phone_without_plus_does_not_match_phone_with_plus if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier": "34600111222",
		"registered_phones": ["+34600111222"],
	}}
	ids := {id | some id, _ in login.findings} with input as inp
	ids == {"identifier_not_registered"}
}

test_phone_matches_when_card_has_emails_and_phones if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier": "+34 600 111 222",
		"registered_emails": ["ana@example.com"],
		"registered_phones": ["+34 600 999 999", "+34-600-111-222"],
	}}
	login.ruled_out == {"identifier_not_registered"} with input as inp
}

test_email_identifier_with_only_phones_on_card_is_not_registered if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier": "ana@example.com",
		"registered_phones": ["+34600111222"],
	}}
	ids := {id | some id, _ in login.findings} with input as inp
	ids == {"identifier_not_registered"}
	count(login.ruled_out) == 0 with input as inp
}

test_derived_registration_beats_a_direct_no if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier": "ana@example.com",
		"registered_emails": ["ana@example.com"],
		"identifier_registered": false,
	}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"identifier_not_registered"} with input as inp
}

test_derived_non_registration_beats_a_direct_yes if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier": "ana@example.org",
		"registered_emails": ["ana@example.com"],
		"identifier_registered": true,
	}}
	login.findings == {"identifier_not_registered": ["identifier_registered"]} with input as inp
	count(login.ruled_out) == 0 with input as inp
}

test_derivable_registration_is_not_asked if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier": "+34600111222",
		"registered_phones": ["+34 600 111 222"],
	}}
	login.questions == {"opted_out", "channels_tried", "spam_checked", "online"} with input as inp
}

test_identifier_without_card_still_asks_registration if {
	inp := {"symptom": "code_not_received", "facts": {"identifier": "ana@example.com"}}
	count(login.findings) == 0 with input as inp
	count(login.ruled_out) == 0 with input as inp
	"identifier_registered" in login.questions with input as inp
}

test_card_without_identifier_uses_the_direct_answer if {
	inp := {"symptom": "code_not_received", "facts": {
		"registered_emails": ["ana@example.com"],
		"identifier_registered": true,
	}}
	login.ruled_out == {"identifier_not_registered"} with input as inp
}

# Scope: a symptom limits the answer to its own causes.

test_symptom_limits_the_answer_to_its_causes if {
	inp := {"symptom": "code_needed_often", "facts": {
		"opted_out": true,
		"online": true,
		"incognito": true,
		"cookies_autodelete": false,
		"vpn": true,
		"message_published": true,
	}}
	login.scope == ["code_needed_often"] with input as inp
	login.findings == {"incognito_mode": ["incognito"]} with input as inp
	login.ruled_out == {"cookies_deleted"} with input as inp
	login.questions == {"new_device"} with input as inp
}

test_no_symptom_considers_all_three if {
	login.scope == ["code_not_received", "code_needed_often", "code_not_accepted"] with input as {"facts": {}}
	login.decision.symptoms == ["code_not_received", "code_needed_often", "code_not_accepted"] with input as {}
}

test_each_symptom_alone_is_in_scope if {
	every s in ["code_not_received", "code_needed_often", "code_not_accepted"] {
		login.decision.symptoms == [s] with input as {"symptom": s, "facts": {}}
	}
}

# Every cause at once: the engine orders them by the article (rules.Catalog
# sorts; see rules_test.go), the rules say which they are.

test_every_cause_can_be_found_at_once if {
	inp := {"facts": {
		"used_latest_code": false,
		"vpn": true,
		"message_published": false,
		"new_device": true,
		"cookies_autodelete": true,
		"incognito": true,
		"online": false,
		"spam_checked": false,
		"channels_tried": ["email"],
		"opted_out": true,
		"identifier_registered": false,
	}}
	ids := {id | some id, _ in login.findings} with input as inp
	ids == {
		"identifier_not_registered",
		"contact_opted_out",
		"try_other_channel",
		"check_spam",
		"no_connection",
		"incognito_mode",
		"cookies_deleted",
		"new_device",
		"message_not_published",
		"vpn_in_use",
		"old_code",
	}
	count(login.ruled_out) == 0 with input as inp
	count(login.questions) == 0 with input as inp
}

test_every_cause_can_be_ruled_out_at_once if {
	inp := {"facts": {
		"used_latest_code": true,
		"vpn": false,
		"message_published": true,
		"new_device": false,
		"cookies_autodelete": false,
		"incognito": false,
		"online": true,
		"spam_checked": true,
		"channels_tried": ["sms", "email"],
		"opted_out": false,
		"identifier_registered": true,
	}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {
		"identifier_not_registered",
		"contact_opted_out",
		"try_other_channel",
		"check_spam",
		"no_connection",
		"incognito_mode",
		"cookies_deleted",
		"new_device",
		"message_not_published",
		"vpn_in_use",
		"old_code",
	} with input as inp
}

test_mixed_answers if {
	inp := {"facts": {
		"vpn": true,
		"incognito": false,
		"online": false,
		"opted_out": false,
		"identifier_registered": false,
	}}
	ids := {id | some id, _ in login.findings} with input as inp
	ids == {"identifier_not_registered", "no_connection", "vpn_in_use"}
	login.ruled_out == {"contact_opted_out", "incognito_mode"} with input as inp
	login.questions == {
		"channels_tried",
		"spam_checked",
		"cookies_autodelete",
		"new_device",
		"message_published",
		"used_latest_code",
	} with input as inp
}

test_nothing_known_asks_every_question if {
	login.questions == {"identifier_registered", "opted_out", "channels_tried", "spam_checked", "online", "incognito", "cookies_autodelete", "new_device", "message_published", "vpn", "used_latest_code"} with input as {"facts": {}}
}

test_channels_tried_is_asked_once if {
	inp := {"symptom": "code_not_received", "facts": {"spam_checked": false}}
	login.questions == {"identifier_registered", "opted_out", "channels_tried", "online"} with input as inp
}

# Questions for an empty request, per symptom.

test_code_not_received_asks_five_questions if {
	login.questions == {"identifier_registered", "opted_out", "channels_tried", "spam_checked", "online"} with input as {"symptom": "code_not_received", "facts": {}}
}

test_code_needed_often_asks_three_questions if {
	login.questions == {"incognito", "cookies_autodelete", "new_device"} with input as {"symptom": "code_needed_often", "facts": {}}
}

test_code_not_accepted_asks_three_questions if {
	login.questions == {"message_published", "vpn", "used_latest_code"} with input as {"symptom": "code_not_accepted", "facts": {}}
}

# Outcomes.

test_a_likely_cause_gives_causes_found if {
	login.outcome == "causes_found" with input as {"symptom": "code_not_accepted", "facts": {"vpn": true}}
}

test_a_likely_cause_gives_causes_found_with_questions_left if {
	inp := {"facts": {"new_device": true}}
	login.outcome == "causes_found" with input as inp
	count(login.questions) == 10 with input as inp
}

test_empty_facts_need_answers if {
	login.outcome == "needs_answers" with input as {"facts": {}}
	every s in ["code_not_received", "code_needed_often", "code_not_accepted"] {
		login.outcome == "needs_answers" with input as {"symptom": s, "facts": {}}
	}
}

test_partial_answers_without_findings_need_answers if {
	login.outcome == "needs_answers" with input as {"symptom": "code_needed_often", "facts": {"incognito": false}}
}

test_everything_answered_and_nothing_likely_gives_no_known_cause if {
	inp := {"symptom": "code_needed_often", "facts": {
		"incognito": false,
		"cookies_autodelete": false,
		"new_device": false,
	}}
	login.decision == {
		"symptoms": ["code_needed_often"],
		"outcome": "no_known_cause",
		"findings": {},
		"ruled_out": {"incognito_mode", "cookies_deleted", "new_device"},
		"to_try": set(),
		"questions": set(),
	} with input as inp
}

test_single_code_answers_old_code_for_no_known_cause if {
	inp := {"symptom": "code_not_accepted", "facts": {
		"message_published": true,
		"vpn": false,
		"codes_requested": 1,
	}}
	login.outcome == "no_known_cause" with input as inp
	count(login.questions) == 0 with input as inp
}

test_sms_only_with_everything_else_answered_asks_nothing_more if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier": "+34600111222",
		"registered_phones": ["+34600111222"],
		"opted_out": false,
		"channels_tried": ["sms"],
		"online": true,
	}}

	# Only SMS tried is itself a finding: try the other channel.
	login.outcome == "causes_found" with input as inp
	login.ruled_out == {"identifier_not_registered", "contact_opted_out", "check_spam", "no_connection"} with input as inp
	count(login.questions) == 0 with input as inp
}

# The example request of SPEC's POST /api/v1/evaluate.

test_spec_example_decision if {
	inp := {"symptom": "code_not_received", "lang": "en", "facts": {
		"identifier": "Ana@Example.com ",
		"registered_emails": ["ana@example.com"],
		"channels_tried": ["email"],
		"spam_checked": false,
	}}
	object.remove(login.decision, ["to_try"]) == {
		"symptoms": ["code_not_received"],
		"outcome": "causes_found",
		"findings": {
			"try_other_channel": ["channels_tried"],
			"check_spam": ["channels_tried", "spam_checked"],
		},
		"ruled_out": {"identifier_not_registered"},
		"questions": {"opted_out", "online"},
	} with input as inp

	# Only what a contact can try while it is open (a cause an admin adds
	# may join it).
	"no_connection" in login.to_try with input as inp
	every id in ["try_other_channel", "check_spam", "identifier_not_registered", "contact_opted_out"] {
		not id in login.to_try with input as inp
	}
}

test_email_identifier_never_matches_a_phone_on_the_card if {
	login.findings == {"identifier_not_registered": ["identifier_registered"]} with input as {
		"symptom": "code_not_received",
		"facts": {"identifier": "600111222@example.com", "registered_phones": ["600111222"]},
	}
}

# What the engine may key a reused answer on: the derived facts, never the
# personal ones they come from.

test_derived_gives_the_registration_from_the_card if {
	login.derived == {"identifier_registered": true} with input as {"facts": {
		"identifier": " Ana@Example.COM ",
		"registered_emails": ["ana@example.com"],
	}}
	login.derived == {"identifier_registered": false} with input as {"facts": {
		"identifier": "+34 600 111 222",
		"registered_phones": ["+34 600 999 999"],
		"identifier_registered": true,
	}}
}

test_derived_is_empty_without_identifier_and_card if {
	login.derived == {} with input as {"facts": {"identifier": "ana@example.com"}}
	login.derived == {} with input as {"facts": {"registered_emails": ["ana@example.com"]}}
	login.derived == {} with input as {"facts": {"identifier_registered": true}}
}

# Things to try: the open causes a contact can act on without knowing the
# answer (custom.contact_can_try), never a cause found or ruled out.

test_nothing_known_offers_every_cause_a_contact_can_try if {
	every s, ids in {
		"code_not_received": {"identifier_not_registered", "try_other_channel", "check_spam", "no_connection"},
		"code_needed_often": {"incognito_mode", "cookies_deleted"},
		"code_not_accepted": {"vpn_in_use", "old_code"},
	} {
		to_try := login.to_try with input as {"symptom": s, "facts": {}}
		ids - to_try == set()
	}
}

test_a_cause_found_or_ruled_out_is_not_to_try if {
	inp := {"symptom": "code_not_received", "facts": {"channels_tried": ["email"], "spam_checked": true}}
	login.findings.try_other_channel == ["channels_tried"] with input as inp
	"check_spam" in login.ruled_out with input as inp
	to_try := login.to_try with input as inp
	{"identifier_not_registered", "no_connection"} - to_try == set()
	not "try_other_channel" in to_try
	not "check_spam" in to_try
}

test_causes_only_an_admin_can_check_are_not_to_try if {
	to_try := login.to_try with input as {"facts": {}}
	not "contact_opted_out" in to_try
	not "message_not_published" in to_try
	not "new_device" in to_try
}
