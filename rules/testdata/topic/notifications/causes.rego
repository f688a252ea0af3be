# The four causes of the article on notifications, one rule each, as
# rules/login/causes.rego writes them: cause.<symptom>.<cause id>, a
# verdict per rule, "open" by default.
package notifications

# METADATA
# title: The phone blocks the app's notifications
# description: The phone's settings do not allow the app to notify.
default cause.notifications_missing.notifications_blocked := "open"

contact_can_try contains "notifications_blocked"

cause.notifications_missing.notifications_blocked := "likely" if {
	input.facts.notifications_allowed == false
} else := "ruled_out" if {
	input.facts.notifications_allowed == true
}

# METADATA
# title: Do not disturb is on
# description: Do not disturb or a focus mode silences notifications.
default cause.notifications_missing.do_not_disturb_on := "open"

contact_can_try contains "do_not_disturb_on"

cause.notifications_missing.do_not_disturb_on := "likely" if {
	input.facts.do_not_disturb == true
} else := "ruled_out" if {
	input.facts.do_not_disturb == false
}

# METADATA
# title: Not signed in to the app
# description: The contact is not signed in to the app on this phone, so nothing is sent to it.
default cause.notifications_missing.app_signed_out := "open"

cause.notifications_missing.app_signed_out := "likely" if {
	input.facts.signed_in_app == false
} else := "ruled_out" if {
	input.facts.signed_in_app == true
}

# METADATA
# title: Battery saver delays notifications
# description: Battery saver holds the app's notifications back until the phone is used.
default cause.notifications_late.battery_saver_on := "open"

contact_can_try contains "battery_saver_on"

cause.notifications_late.battery_saver_on := "likely" if {
	input.facts.battery_saver == true
} else := "ruled_out" if {
	input.facts.battery_saver == false
}
