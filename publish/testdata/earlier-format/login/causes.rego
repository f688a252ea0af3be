# The eleven causes of the help-center article, one rule each. A rule's
# path names the symptom it explains and the cause
# (cause.<symptom>.<cause id>); its metadata gives the cause's place in the
# article and the facts it rests on. Each rule gives the cause one verdict:
# "likely", "ruled_out" or "open". Where the facts could say two things, the
# order of the rule's branches says which wins: the first branch that holds
# is the verdict. A fact the request does not give is undefined, so no branch
# that reads it holds: unknown is not false, and the cause's default
# verdict, "open", stands. The metadata sits on that default rule, which
# declares the cause. custom.contact_can_try marks a cause whose advice a
# contact can follow without knowing the answer (look in the spam folder,
# turn off the VPN): while it is open, the answer offers it to try.
package login

# METADATA
# title: The identifier is not on the contact card
# description: The email or phone the contact types is not the one registered on their contact card.
# custom:
#   order: 1
#   facts: [identifier_registered]
#   contact_can_try: true
default cause.code_not_received.identifier_not_registered := "open"

cause.code_not_received.identifier_not_registered := "likely" if {
	_identifier_registered == false
} else := "ruled_out" if {
	_identifier_registered == true
}

# METADATA
# title: The contact opted out
# description: The contact card shows the contact opted out of communication.
# custom:
#   order: 2
#   facts: [opted_out]
default cause.code_not_received.contact_opted_out := "open"

cause.code_not_received.contact_opted_out := "likely" if {
	input.facts.opted_out == true
} else := "ruled_out" if {
	input.facts.opted_out == false
}

# METADATA
# title: Only one channel tried
# description: The contact has not tried both email and SMS.
# custom:
#   order: 3
#   facts: [channels_tried]
#   contact_can_try: true
default cause.code_not_received.try_other_channel := "open"

cause.code_not_received.try_other_channel := "ruled_out" if {
	count({c | some c in input.facts.channels_tried}) == 2
} else := "likely" if {
	input.facts.channels_tried
}

# METADATA
# title: The code is in the spam folder
# description: |
#   The code went by email and the spam folder was not checked. Ruled out
#   as soon as the spam folder was checked, or when only SMS was tried;
#   that wins over anything else known.
# custom:
#   order: 4
#   facts: [channels_tried, spam_checked]
#   contact_can_try: true
default cause.code_not_received.check_spam := "open"

cause.code_not_received.check_spam := "ruled_out" if {
	input.facts.spam_checked == true
} else := "ruled_out" if {
	input.facts.channels_tried
	not "email" in input.facts.channels_tried
} else := "likely" if {
	"email" in input.facts.channels_tried
	input.facts.spam_checked == false
}

# METADATA
# title: No internet connection
# description: The device has no working internet connection.
# custom:
#   order: 5
#   facts: [online]
#   contact_can_try: true
default cause.code_not_received.no_connection := "open"

cause.code_not_received.no_connection := "likely" if {
	input.facts.online == false
} else := "ruled_out" if {
	input.facts.online == true
}

# METADATA
# title: Private browsing
# description: Private or incognito browsing keeps no cookies, so the platform does not recognize the returning contact.
# custom:
#   order: 6
#   facts: [incognito]
#   contact_can_try: true
default cause.code_needed_often.incognito_mode := "open"

cause.code_needed_often.incognito_mode := "likely" if {
	input.facts.incognito == true
} else := "ruled_out" if {
	input.facts.incognito == false
}

# METADATA
# title: Cookies deleted automatically
# description: The browser deletes cookies automatically.
# custom:
#   order: 7
#   facts: [cookies_autodelete]
#   contact_can_try: true
default cause.code_needed_often.cookies_deleted := "open"

cause.code_needed_often.cookies_deleted := "likely" if {
	input.facts.cookies_autodelete == true
} else := "ruled_out" if {
	input.facts.cookies_autodelete == false
}

# METADATA
# title: A new device
# description: A device the contact has not used before has no saved cookies.
# custom:
#   order: 8
#   facts: [new_device]
default cause.code_needed_often.new_device := "open"

cause.code_needed_often.new_device := "likely" if {
	input.facts.new_device == true
} else := "ruled_out" if {
	input.facts.new_device == false
}

# METADATA
# title: The message was not published to the contact
# description: The message the contact tries to open was not published to them.
# custom:
#   order: 9
#   facts: [message_published]
default cause.code_not_accepted.message_not_published := "open"

cause.code_not_accepted.message_not_published := "likely" if {
	input.facts.message_published == false
} else := "ruled_out" if {
	input.facts.message_published == true
}

# METADATA
# title: A VPN is in use
# description: The contact is behind a VPN.
# custom:
#   order: 10
#   facts: [vpn]
#   contact_can_try: true
default cause.code_not_accepted.vpn_in_use := "open"

cause.code_not_accepted.vpn_in_use := "likely" if {
	input.facts.vpn == true
} else := "ruled_out" if {
	input.facts.vpn == false
}

# METADATA
# title: An old code
# description: |
#   The contact is not using the most recent code. Ruled out when they are,
#   and when exactly one code was requested in this attempt: that code is
#   the newest, whatever the contact believes, so the count (which an
#   integration reports from the platform) wins over the contact's answer.
#   With no code requested in this attempt, a code in hand is from an
#   earlier one, so an answer of "not the newest" stays likely.
# custom:
#   order: 11
#   facts: [used_latest_code, codes_requested]
#   contact_can_try: true
default cause.code_not_accepted.old_code := "open"

cause.code_not_accepted.old_code := "ruled_out" if {
	input.facts.used_latest_code == true
} else := "ruled_out" if {
	input.facts.codes_requested == 1
} else := "likely" if {
	input.facts.used_latest_code == false
}
