# The eleven causes of the article, one sentence of advice at a time: each
# cause is found when its facts say so, ruled out when they exclude it, and
# left open while they are unknown.
package login_test

import data.login

# Unknown is not false: with nothing known, no cause is found and none is ruled out.
test_unknown_is_not_false if {
	count(login.findings) == 0 with input as {"facts": {}}
	count(login.ruled_out) == 0 with input as {"facts": {}}
	count(login.findings) == 0 with input as {}
	count(login.ruled_out) == 0 with input as {}
}

# code_not_received: "Asegúrate de que tus contactos estén utilizando un correo
# electrónico y/o un número telefónico que esté registrado en la plataforma."

test_unregistered_identifier_finds_use_the_registered_one if {
	inp := {"symptom": "code_not_received", "facts": {"identifier_registered": false}}
	login.findings == {"identifier_not_registered": ["identifier_registered"]} with input as inp
	count(login.ruled_out) == 0 with input as inp
}

test_registered_identifier_rules_out_identifier_not_registered if {
	inp := {"symptom": "code_not_received", "facts": {"identifier_registered": true}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"identifier_not_registered"} with input as inp
}

test_unknown_registration_keeps_identifier_not_registered_open if {
	inp := {"symptom": "code_not_received", "facts": {
		"opted_out": false,
		"channels_tried": ["email", "sms"],
		"spam_checked": true,
		"online": true,
	}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"contact_opted_out", "try_other_channel", "check_spam", "no_connection"} with input as inp
	login.questions == {"identifier_registered"} with input as inp
}

# "Verifica la tarjeta de contacto para asegurarte de que no se haya desvinculado."

test_unlinked_contact_card_finds_relink_the_contact if {
	inp := {"symptom": "code_not_received", "facts": {"opted_out": true}}
	login.findings == {"contact_opted_out": ["opted_out"]} with input as inp
	count(login.ruled_out) == 0 with input as inp
}

test_linked_contact_card_rules_out_contact_opted_out if {
	inp := {"symptom": "code_not_received", "facts": {"opted_out": false}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"contact_opted_out"} with input as inp
}

test_unknown_link_keeps_contact_opted_out_open if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier_registered": true,
		"channels_tried": ["email", "sms"],
		"spam_checked": true,
		"online": true,
	}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"identifier_not_registered", "try_other_channel", "check_spam", "no_connection"} with input as inp
	login.questions == {"opted_out"} with input as inp
}

# "Asegúrate de que hayan probado tanto la opción de correo electrónico como la de SMS."

test_email_only_finds_try_other_channel if {
	inp := {"symptom": "code_not_received", "facts": {"channels_tried": ["email"]}}
	login.findings == {"try_other_channel": ["channels_tried"]} with input as inp
	count(login.ruled_out) == 0 with input as inp
}

test_sms_only_finds_try_other_channel if {
	inp := {"symptom": "code_not_received", "facts": {"channels_tried": ["sms"]}}
	login.findings == {"try_other_channel": ["channels_tried"]} with input as inp
}

test_no_channel_tried_finds_try_other_channel if {
	inp := {"symptom": "code_not_received", "facts": {"channels_tried": []}}
	login.findings == {"try_other_channel": ["channels_tried"]} with input as inp
	login.ruled_out == {"check_spam"} with input as inp
}

test_same_channel_twice_finds_try_other_channel if {
	inp := {"symptom": "code_not_received", "facts": {"channels_tried": ["email", "email"]}}
	ids := {id | some id, _ in login.findings} with input as inp
	"try_other_channel" in ids
}

test_both_channels_tried_rules_out_try_other_channel if {
	inp := {"symptom": "code_not_received", "facts": {"channels_tried": ["sms", "email"]}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"try_other_channel"} with input as inp
}

test_unknown_channels_keep_try_other_channel_open if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier_registered": true,
		"opted_out": false,
		"spam_checked": true,
		"online": true,
	}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"identifier_not_registered", "contact_opted_out", "check_spam", "no_connection"} with input as inp
	login.questions == {"channels_tried"} with input as inp
}

# "Pídales que busquen un código en su filtro de correo no deseado ..."

test_spam_filter_not_checked_after_email_finds_check_spam if {
	inp := {"symptom": "code_not_received", "facts": {"channels_tried": ["email", "sms"], "spam_checked": false}}
	login.findings == {"check_spam": ["channels_tried", "spam_checked"]} with input as inp
	login.ruled_out == {"try_other_channel"} with input as inp
}

test_spam_filter_checked_rules_out_check_spam if {
	inp := {"symptom": "code_not_received", "facts": {"channels_tried": ["email", "sms"], "spam_checked": true}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"try_other_channel", "check_spam"} with input as inp
}

test_spam_filter_checked_rules_out_check_spam_before_channels_are_known if {
	inp := {"symptom": "code_not_received", "facts": {"spam_checked": true}}
	login.ruled_out == {"check_spam"} with input as inp
	qs := [q.fact | some q in login.questions] with input as inp
	not "spam_checked" in qs
}

test_sms_only_needs_no_spam_check if {
	inp := {"symptom": "code_not_received", "facts": {"channels_tried": ["sms"]}}
	login.ruled_out == {"check_spam"} with input as inp
	login.questions == {"identifier_registered", "opted_out", "online"} with input as inp
}

test_unchecked_spam_with_unknown_channels_keeps_check_spam_open if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier_registered": true,
		"opted_out": false,
		"spam_checked": false,
		"online": true,
	}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"identifier_not_registered", "contact_opted_out", "no_connection"} with input as inp
	login.questions == {"channels_tried"} with input as inp
}

test_unknown_spam_check_after_email_keeps_check_spam_open if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier_registered": true,
		"opted_out": false,
		"channels_tried": ["email", "sms"],
		"online": true,
	}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"identifier_not_registered", "contact_opted_out", "try_other_channel", "no_connection"} with input as inp
	login.questions == {"spam_checked"} with input as inp
}

# "... y que comprueben que tienen conexión de internet a la red."

test_offline_device_finds_reconnect if {
	inp := {"symptom": "code_not_received", "facts": {"online": false}}
	login.findings == {"no_connection": ["online"]} with input as inp
	count(login.ruled_out) == 0 with input as inp
}

test_online_device_rules_out_no_connection if {
	inp := {"symptom": "code_not_received", "facts": {"online": true}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"no_connection"} with input as inp
}

test_unknown_connection_keeps_no_connection_open if {
	inp := {"symptom": "code_not_received", "facts": {
		"identifier_registered": true,
		"opted_out": false,
		"channels_tried": ["email", "sms"],
		"spam_checked": true,
	}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"identifier_not_registered", "contact_opted_out", "try_other_channel", "check_spam"} with input as inp
	login.questions == {"online"} with input as inp
}

# code_needed_often: "Probablemente tu contacto está accediendo a la plataforma
# de manera incógnita en el buscador."

test_incognito_browsing_finds_use_a_normal_window if {
	inp := {"symptom": "code_needed_often", "facts": {"incognito": true}}
	login.findings == {"incognito_mode": ["incognito"]} with input as inp
	count(login.ruled_out) == 0 with input as inp
}

test_normal_window_rules_out_incognito_mode if {
	inp := {"symptom": "code_needed_often", "facts": {"incognito": false}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"incognito_mode"} with input as inp
}

test_unknown_browsing_mode_keeps_incognito_mode_open if {
	inp := {"symptom": "code_needed_often", "facts": {"cookies_autodelete": false, "new_device": false}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"cookies_deleted", "new_device"} with input as inp
	login.questions == {"incognito"} with input as inp
}

# "El contacto tiene habilitada la eliminación automática de cookies."

test_cookie_autodelete_finds_allow_the_cookies if {
	inp := {"symptom": "code_needed_often", "facts": {"cookies_autodelete": true}}
	login.findings == {"cookies_deleted": ["cookies_autodelete"]} with input as inp
	count(login.ruled_out) == 0 with input as inp
}

test_cookies_kept_rules_out_cookies_deleted if {
	inp := {"symptom": "code_needed_often", "facts": {"cookies_autodelete": false}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"cookies_deleted"} with input as inp
}

test_unknown_cookie_setting_keeps_cookies_deleted_open if {
	inp := {"symptom": "code_needed_often", "facts": {"incognito": false, "new_device": false}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"incognito_mode", "new_device"} with input as inp
	login.questions == {"cookies_autodelete"} with input as inp
}

# "El contacto podría estar utilizando un aparato nuevo, y este dispositivo no
# tiene cookies guardadas."

test_new_device_finds_new_device_has_no_cookies if {
	inp := {"symptom": "code_needed_often", "facts": {"new_device": true}}
	login.findings == {"new_device": ["new_device"]} with input as inp
	count(login.ruled_out) == 0 with input as inp
}

test_known_device_rules_out_new_device if {
	inp := {"symptom": "code_needed_often", "facts": {"new_device": false}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"new_device"} with input as inp
}

test_unknown_device_keeps_new_device_open if {
	inp := {"symptom": "code_needed_often", "facts": {"incognito": false, "cookies_autodelete": false}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"incognito_mode", "cookies_deleted"} with input as inp
	login.questions == {"new_device"} with input as inp
}

# code_not_accepted: "El mensaje al que está tratando de acceder, no ha sido
# publicado para el desde la plataforma."

test_unpublished_message_finds_publish_it_to_the_contact if {
	inp := {"symptom": "code_not_accepted", "facts": {"message_published": false}}
	login.findings == {"message_not_published": ["message_published"]} with input as inp
	count(login.ruled_out) == 0 with input as inp
}

test_published_message_rules_out_message_not_published if {
	inp := {"symptom": "code_not_accepted", "facts": {"message_published": true}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"message_not_published"} with input as inp
}

test_unknown_publication_keeps_message_not_published_open if {
	inp := {"symptom": "code_not_accepted", "facts": {"vpn": false, "used_latest_code": true}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"vpn_in_use", "old_code"} with input as inp
	login.questions == {"message_published"} with input as inp
}

# "Usar un VPN - esta podría ser la razón que causa el problema."

test_vpn_finds_disconnect_the_vpn if {
	inp := {"symptom": "code_not_accepted", "facts": {"vpn": true}}
	login.findings == {"vpn_in_use": ["vpn"]} with input as inp
	count(login.ruled_out) == 0 with input as inp
}

test_no_vpn_rules_out_vpn_in_use if {
	inp := {"symptom": "code_not_accepted", "facts": {"vpn": false}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"vpn_in_use"} with input as inp
}

test_unknown_vpn_keeps_vpn_in_use_open if {
	inp := {"symptom": "code_not_accepted", "facts": {"message_published": true, "used_latest_code": true}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"message_not_published", "old_code"} with input as inp
	login.questions == {"vpn"} with input as inp
}

# "No están usando el código de confirmación más reciente. ... Si han
# solicitado varios códigos de confirmación, siempre es el más nuevo el que se
# debe utilizar."

test_older_of_several_codes_finds_use_the_newest_code if {
	inp := {"symptom": "code_not_accepted", "facts": {"codes_requested": 3, "used_latest_code": false}}
	login.findings == {"old_code": ["used_latest_code", "codes_requested"]} with input as inp
	count(login.ruled_out) == 0 with input as inp
}

test_older_code_finds_old_code_without_a_code_count if {
	inp := {"symptom": "code_not_accepted", "facts": {"used_latest_code": false}}
	login.findings == {"old_code": ["used_latest_code"]} with input as inp
}

test_latest_code_rules_out_old_code if {
	inp := {"symptom": "code_not_accepted", "facts": {"codes_requested": 3, "used_latest_code": true}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"old_code"} with input as inp
}

test_single_code_requested_rules_out_old_code if {
	inp := {"symptom": "code_not_accepted", "facts": {"codes_requested": 1}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"old_code"} with input as inp
	login.questions == {"message_published", "vpn"} with input as inp
}

test_several_codes_with_unknown_use_keep_old_code_open if {
	inp := {"symptom": "code_not_accepted", "facts": {
		"message_published": true,
		"vpn": false,
		"codes_requested": 3,
	}}
	count(login.findings) == 0 with input as inp
	login.ruled_out == {"message_not_published", "vpn_in_use"} with input as inp
	login.questions == {"used_latest_code"} with input as inp
}

# One verdict per cause, even when its facts contradict each other: the
# first branch of the cause's rule that holds wins, and each test below pins
# one contradictory combination of a cause that reads more than one fact.

verdict(symptom, id, facts) := v if {
	v := login.cause[symptom][id] with input as {"symptom": symptom, "facts": facts}
}

test_check_spam_spam_checked_wins_over_email_tried if {
	verdict("code_not_received", "check_spam", {"channels_tried": ["email"], "spam_checked": true}) == "ruled_out"
}

test_check_spam_sms_only_wins_over_spam_not_checked if {
	# The contact says they did not look in the spam folder, but the code
	# never went by email: there is nothing to find there.
	verdict("code_not_received", "check_spam", {"channels_tried": ["sms"], "spam_checked": false}) == "ruled_out"
}

test_check_spam_no_channel_tried_wins_over_spam_not_checked if {
	verdict("code_not_received", "check_spam", {"channels_tried": [], "spam_checked": false}) == "ruled_out"
}

test_check_spam_email_among_channels_and_spam_not_checked_is_likely if {
	verdict("code_not_received", "check_spam", {"channels_tried": ["sms", "email"], "spam_checked": false}) == "likely"
}

test_check_spam_unknown_channels_keeps_it_open if {
	verdict("code_not_received", "check_spam", {"spam_checked": false}) == "open"
}

test_old_code_single_code_wins_over_not_the_latest if {
	# One code requested in this attempt is the newest one, whatever the
	# contact believes: the count (from the platform) wins.
	verdict("code_not_accepted", "old_code", {"codes_requested": 1, "used_latest_code": false}) == "ruled_out"
	not "used_latest_code" in login.questions with input as {"symptom": "code_not_accepted", "facts": {"codes_requested": 1}}
}

test_old_code_latest_code_wins_over_many_codes if {
	verdict("code_not_accepted", "old_code", {"codes_requested": 5, "used_latest_code": true}) == "ruled_out"
}

test_old_code_no_code_this_attempt_and_not_the_latest_is_likely if {
	# With no code requested in this attempt, the code in hand is from an
	# earlier one.
	verdict("code_not_accepted", "old_code", {"codes_requested": 0, "used_latest_code": false}) == "likely"
}

test_old_code_no_code_this_attempt_keeps_it_open if {
	verdict("code_not_accepted", "old_code", {"codes_requested": 0}) == "open"
}

test_identifier_derived_match_wins_over_a_direct_no if {
	verdict("code_not_received", "identifier_not_registered", {
		"identifier": "ana@example.com",
		"registered_emails": ["ANA@example.com"],
		"identifier_registered": false,
	}) == "ruled_out"
}

test_try_other_channel_a_repeated_channel_is_one_channel if {
	verdict("code_not_received", "try_other_channel", {"channels_tried": ["email", "email"]}) == "likely"
}

test_every_cause_has_one_verdict if {
	every facts in [{}, {"vpn": true, "codes_requested": 1, "used_latest_code": false, "spam_checked": true, "channels_tried": ["sms"]}] {
		causes := login.cause with input as {"facts": facts}
		every s in login.symptoms {
			every v in causes[s] {
				v in {"likely", "ruled_out", "open"}
			}
		}
	}
	count([1 | some s in login.symptoms; some _ in login.cause[s]]) == count(data.acceso.causes)
}
