# The causes of the article, one sentence of advice at a time: each cause
# is found when its facts say so, ruled out when they exclude it, and left
# open while they are unknown. Each cause has its own table of facts and
# the verdict they give it, so a new cause brings its own test and changes
# none of these.
package login_test

import data.login

# The verdict of one cause for the facts given.
verdict(symptom, id, facts) := v if {
	v := login.cause[symptom][id] with input as {"symptom": symptom, "facts": facts}
}

# Every row of a cause's table gives the verdict it names.
verdicts_hold(symptom, id, rows) if {
	every row in rows {
		verdict(symptom, id, row.facts) == row.want
	}
}

# code_not_received: "Asegúrate de que tus contactos estén utilizando un correo
# electrónico y/o un número telefónico que esté registrado en la plataforma."
test_identifier_not_registered if {
	verdicts_hold("code_not_received", "identifier_not_registered", [
		{"facts": {"identifier_registered": false}, "want": "likely"},
		{"facts": {"identifier_registered": true}, "want": "ruled_out"},
		{"facts": {}, "want": "open"},
		{"facts": {"opted_out": false, "online": true}, "want": "open"},
		# Derived from the contact card, which beats a direct answer.
		{"facts": {"identifier": "ana@example.org", "registered_emails": ["ana@example.com"]}, "want": "likely"},
		{"facts": {"identifier": "ana@example.com", "registered_emails": ["ana@example.com"], "identifier_registered": false}, "want": "ruled_out"},
		{"facts": {"identifier": "ana@example.org", "registered_emails": ["ana@example.com"], "identifier_registered": true}, "want": "likely"},
		# Without the card, the direct answer.
		{"facts": {"identifier": "ana@example.com"}, "want": "open"},
		{"facts": {"registered_emails": ["ana@example.com"], "identifier_registered": true}, "want": "ruled_out"},
	])
}

# "Verifica la tarjeta de contacto para asegurarte de que no se haya desvinculado."
test_contact_opted_out if {
	verdicts_hold("code_not_received", "contact_opted_out", [
		{"facts": {"opted_out": true}, "want": "likely"},
		{"facts": {"opted_out": false}, "want": "ruled_out"},
		{"facts": {"identifier_registered": true, "online": true}, "want": "open"},
	])
}

# "Asegúrate de que hayan probado tanto la opción de correo electrónico como la de SMS."
test_try_other_channel if {
	verdicts_hold("code_not_received", "try_other_channel", [
		{"facts": {"channels_tried": ["email"]}, "want": "likely"},
		{"facts": {"channels_tried": ["sms"]}, "want": "likely"},
		{"facts": {"channels_tried": []}, "want": "likely"},
		# A repeated channel is one channel.
		{"facts": {"channels_tried": ["email", "email"]}, "want": "likely"},
		{"facts": {"channels_tried": ["sms", "email"]}, "want": "ruled_out"},
		{"facts": {"spam_checked": true, "online": true}, "want": "open"},
	])
}

# "Pídales que busquen un código en su filtro de correo no deseado ..."
# A spam folder checked, or SMS only, rules it out whatever else is known.
test_check_spam if {
	verdicts_hold("code_not_received", "check_spam", [
		{"facts": {"channels_tried": ["email", "sms"], "spam_checked": false}, "want": "likely"},
		{"facts": {"channels_tried": ["email"], "spam_checked": false}, "want": "likely"},
		{"facts": {"channels_tried": ["email", "sms"], "spam_checked": true}, "want": "ruled_out"},
		{"facts": {"channels_tried": ["email"], "spam_checked": true}, "want": "ruled_out"},
		{"facts": {"spam_checked": true}, "want": "ruled_out"},
		{"facts": {"channels_tried": ["sms"]}, "want": "ruled_out"},
		{"facts": {"channels_tried": ["sms"], "spam_checked": false}, "want": "ruled_out"},
		{"facts": {"channels_tried": [], "spam_checked": false}, "want": "ruled_out"},
		{"facts": {"spam_checked": false}, "want": "open"},
		{"facts": {"channels_tried": ["email"]}, "want": "open"},
		{"facts": {}, "want": "open"},
	])
}

# "... y que comprueben que tienen conexión de internet a la red."
test_no_connection if {
	verdicts_hold("code_not_received", "no_connection", [
		{"facts": {"online": false}, "want": "likely"},
		{"facts": {"online": true}, "want": "ruled_out"},
		{"facts": {"channels_tried": ["email"]}, "want": "open"},
	])
}

# code_needed_often: "Probablemente tu contacto está accediendo a la plataforma
# de manera incógnita en el buscador."
test_incognito_mode if {
	verdicts_hold("code_needed_often", "incognito_mode", [
		{"facts": {"incognito": true}, "want": "likely"},
		{"facts": {"incognito": false}, "want": "ruled_out"},
		{"facts": {"cookies_autodelete": true}, "want": "open"},
	])
}

# "El contacto tiene habilitada la eliminación automática de cookies."
test_cookies_deleted if {
	verdicts_hold("code_needed_often", "cookies_deleted", [
		{"facts": {"cookies_autodelete": true}, "want": "likely"},
		{"facts": {"cookies_autodelete": false}, "want": "ruled_out"},
		{"facts": {"incognito": true}, "want": "open"},
	])
}

# "El contacto podría estar utilizando un aparato nuevo, y este dispositivo no
# tiene cookies guardadas."
test_new_device if {
	verdicts_hold("code_needed_often", "new_device", [
		{"facts": {"new_device": true}, "want": "likely"},
		{"facts": {"new_device": false}, "want": "ruled_out"},
		{"facts": {"incognito": true}, "want": "open"},
	])
}

# code_not_accepted: "El mensaje al que está tratando de acceder, no ha sido
# publicado para el desde la plataforma."
test_message_not_published if {
	verdicts_hold("code_not_accepted", "message_not_published", [
		{"facts": {"message_published": false}, "want": "likely"},
		{"facts": {"message_published": true}, "want": "ruled_out"},
		{"facts": {"vpn": true}, "want": "open"},
	])
}

# "Usar un VPN - esta podría ser la razón que causa el problema."
test_vpn_in_use if {
	verdicts_hold("code_not_accepted", "vpn_in_use", [
		{"facts": {"vpn": true}, "want": "likely"},
		{"facts": {"vpn": false}, "want": "ruled_out"},
		{"facts": {"message_published": true}, "want": "open"},
	])
}

# "No están usando el código de confirmación más reciente. ... Si han
# solicitado varios códigos de confirmación, siempre es el más nuevo el que se
# debe utilizar." The latest code used, or a single code requested, rules it
# out whatever else is known.
test_old_code if {
	verdicts_hold("code_not_accepted", "old_code", [
		{"facts": {"used_latest_code": false, "codes_requested": 3}, "want": "likely"},
		{"facts": {"used_latest_code": false}, "want": "likely"},
		{"facts": {"used_latest_code": false, "codes_requested": 0}, "want": "likely"},
		{"facts": {"used_latest_code": true}, "want": "ruled_out"},
		{"facts": {"used_latest_code": true, "codes_requested": 5}, "want": "ruled_out"},
		{"facts": {"codes_requested": 1}, "want": "ruled_out"},
		{"facts": {"codes_requested": 1, "used_latest_code": false}, "want": "ruled_out"},
		{"facts": {"codes_requested": 3}, "want": "open"},
		{"facts": {"codes_requested": 0}, "want": "open"},
	])
}
