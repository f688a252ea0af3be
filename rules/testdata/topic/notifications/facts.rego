package notifications

# METADATA
# title: Facts
# description: |
#   Every fact a request about notifications may carry, declared as the
#   login topic declares its own (see rules/login/facts.rego); the asking
#   order is the order below.
facts := {
	"notifications_allowed": {
		"type": "boolean", "asked_of": "contact",
		"description": "The phone's settings allow the app's notifications.",
	},
	"do_not_disturb": {
		"type": "boolean", "asked_of": "contact",
		"description": "Do not disturb (or a focus mode) is on.",
	},
	"battery_saver": {
		"type": "boolean", "asked_of": "contact",
		"description": "Battery saver (power saving) is on.",
	},
	"signed_in_app": {
		"type": "boolean", "asked_of": "admin",
		"description": "The contact card shows the contact signed in to the app on this phone.",
	},
}
