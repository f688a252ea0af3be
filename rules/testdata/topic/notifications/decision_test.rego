package notifications_test

import data.notifications

test_nothing_known_asks_the_contact_first if {
	d := notifications.decision with input as {"facts": {}}
	d.outcome == "needs_answers"
	d.questions == {"notifications_allowed", "do_not_disturb", "battery_saver", "signed_in_app"}
	d.to_try == {"notifications_blocked", "do_not_disturb_on", "battery_saver_on"}
}

test_a_symptom_keeps_its_causes_only if {
	d := notifications.decision with input as {"symptom": "notifications_late", "facts": {}}
	d.symptoms == ["notifications_late"]
	d.questions == {"battery_saver"}
}

test_a_likely_cause_is_found if {
	d := notifications.decision with input as {"symptom": "notifications_missing", "facts": {"do_not_disturb": true}}
	d.outcome == "causes_found"
	d.findings == {"do_not_disturb_on"}
	d.known == {"do_not_disturb"}
}

test_everything_ruled_out_is_no_known_cause if {
	d := notifications.decision with input as {"symptom": "notifications_late", "facts": {"battery_saver": false}}
	d.outcome == "no_known_cause"
	d.ruled_out == {"battery_saver_on"}
}
