package notifications_test

import data.notifications

# One test per sentence of the article.
test_blocked_notifications_are_likely_when_not_allowed if {
	notifications.cause.notifications_missing.notifications_blocked == "likely" with input as {"facts": {"notifications_allowed": false}}
	notifications.cause.notifications_missing.notifications_blocked == "ruled_out" with input as {"facts": {"notifications_allowed": true}}
}

test_do_not_disturb if {
	notifications.cause.notifications_missing.do_not_disturb_on == "likely" with input as {"facts": {"do_not_disturb": true}}
	notifications.cause.notifications_missing.do_not_disturb_on == "ruled_out" with input as {"facts": {"do_not_disturb": false}}
}

test_signed_out_of_the_app if {
	notifications.cause.notifications_missing.app_signed_out == "likely" with input as {"facts": {"signed_in_app": false}}
	notifications.cause.notifications_missing.app_signed_out == "ruled_out" with input as {"facts": {"signed_in_app": true}}
}

test_battery_saver if {
	notifications.cause.notifications_late.battery_saver_on == "likely" with input as {"facts": {"battery_saver": true}}
	notifications.cause.notifications_late.battery_saver_on == "ruled_out" with input as {"facts": {"battery_saver": false}}
}

# Unknown is not false: with nothing known every cause is open.
test_unknown_is_open if {
	every causes in notifications.cause {
		every verdict in causes {
			verdict == "open" with input as {"facts": {}}
		}
	}
}
