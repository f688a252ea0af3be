# The eleven causes of the help-center article, one rule each. A rule's
# metadata declares the cause for the whole product: its id, the symptom it
# explains, its place in the article and the facts it rests on. The body says
# when the known facts make the cause likely and when they rule it out;
# anything else leaves it open.
#
# Both are computed as values, so that one rule gives every verdict: a fact
# the request does not give reads as null and compares equal to neither
# true nor false (unknown is not false); [a, b] == [true, true] reads "a and
# b", and true in {a, b} reads "a or b".
package login

# METADATA
# title: The identifier is not on the contact card
# description: The email or phone the contact types is not the one registered on their contact card.
# custom:
#   id: identifier_not_registered
#   symptom: code_not_received
#   order: 1
#   facts: [identifier_registered]
verdicts contains {"cause": rego.metadata.rule().custom, "likely": likely, "ruled_out": ruled_out} if {
	identifier_registered := object.get(_facts, "identifier_registered", null)
	likely := identifier_registered == false
	ruled_out := identifier_registered == true
}

# METADATA
# title: The contact is unlinked
# description: The contact card shows the contact unlinked or opted out of communication.
# custom:
#   id: contact_opted_out
#   symptom: code_not_received
#   order: 2
#   facts: [opted_out]
verdicts contains {"cause": rego.metadata.rule().custom, "likely": likely, "ruled_out": ruled_out} if {
	opted_out := object.get(_facts, "opted_out", null)
	likely := opted_out == true
	ruled_out := opted_out == false
}

# METADATA
# title: Only one channel tried
# description: The contact has not tried both email and SMS.
# custom:
#   id: try_other_channel
#   symptom: code_not_received
#   order: 3
#   facts: [channels_tried]
verdicts contains {"cause": rego.metadata.rule().custom, "likely": likely, "ruled_out": ruled_out} if {
	likely := [_channels_known, count(_channels) < 2] == [true, true]
	ruled_out := count(_channels) == 2
}

# METADATA
# title: The code is in the spam folder
# description: The code went by email and the spam or junk folder was not checked.
# custom:
#   id: check_spam
#   symptom: code_not_received
#   order: 4
#   facts: [channels_tried, spam_checked]
verdicts contains {"cause": rego.metadata.rule().custom, "likely": likely, "ruled_out": ruled_out} if {
	email_tried := "email" in _channels
	spam_checked := object.get(_facts, "spam_checked", null)
	likely := [email_tried, spam_checked] == [true, false]
	ruled_out := true in {[_channels_known, email_tried] == [true, false], spam_checked == true}
}

# METADATA
# title: No internet connection
# description: The device has no working internet connection.
# custom:
#   id: no_connection
#   symptom: code_not_received
#   order: 5
#   facts: [online]
verdicts contains {"cause": rego.metadata.rule().custom, "likely": likely, "ruled_out": ruled_out} if {
	online := object.get(_facts, "online", null)
	likely := online == false
	ruled_out := online == true
}

# METADATA
# title: Private browsing
# description: Private or incognito browsing keeps no cookies, so the platform does not recognise the returning contact.
# custom:
#   id: incognito_mode
#   symptom: code_needed_often
#   order: 6
#   facts: [incognito]
verdicts contains {"cause": rego.metadata.rule().custom, "likely": likely, "ruled_out": ruled_out} if {
	incognito := object.get(_facts, "incognito", null)
	likely := incognito == true
	ruled_out := incognito == false
}

# METADATA
# title: Cookies deleted automatically
# description: The browser deletes cookies automatically.
# custom:
#   id: cookies_deleted
#   symptom: code_needed_often
#   order: 7
#   facts: [cookies_autodelete]
verdicts contains {"cause": rego.metadata.rule().custom, "likely": likely, "ruled_out": ruled_out} if {
	cookies_autodelete := object.get(_facts, "cookies_autodelete", null)
	likely := cookies_autodelete == true
	ruled_out := cookies_autodelete == false
}

# METADATA
# title: A new device
# description: A device the contact has not used before has no saved cookies.
# custom:
#   id: new_device
#   symptom: code_needed_often
#   order: 8
#   facts: [new_device]
verdicts contains {"cause": rego.metadata.rule().custom, "likely": likely, "ruled_out": ruled_out} if {
	new_device := object.get(_facts, "new_device", null)
	likely := new_device == true
	ruled_out := new_device == false
}

# METADATA
# title: The message was not published to the contact
# description: The message the contact tries to open was not published to them.
# custom:
#   id: message_not_published
#   symptom: code_not_accepted
#   order: 9
#   facts: [message_published]
verdicts contains {"cause": rego.metadata.rule().custom, "likely": likely, "ruled_out": ruled_out} if {
	message_published := object.get(_facts, "message_published", null)
	likely := message_published == false
	ruled_out := message_published == true
}

# METADATA
# title: A VPN is in use
# description: The contact is behind a VPN.
# custom:
#   id: vpn_in_use
#   symptom: code_not_accepted
#   order: 10
#   facts: [vpn]
verdicts contains {"cause": rego.metadata.rule().custom, "likely": likely, "ruled_out": ruled_out} if {
	vpn := object.get(_facts, "vpn", null)
	likely := vpn == true
	ruled_out := vpn == false
}

# METADATA
# title: An old code
# description: |
#   The contact is not using the most recent code. With a single code
#   requested, the code in hand is the newest one.
# custom:
#   id: old_code
#   symptom: code_not_accepted
#   order: 11
#   facts: [used_latest_code, codes_requested]
verdicts contains {"cause": rego.metadata.rule().custom, "likely": likely, "ruled_out": ruled_out} if {
	used_latest_code := object.get(_facts, "used_latest_code", null)
	codes_requested := object.get(_facts, "codes_requested", 2)
	likely := used_latest_code == false
	ruled_out := true in {used_latest_code == true, codes_requested < 2}
}
