package login

# METADATA
# title: Facts
# description: |
#   Every fact a request may carry, declared once for the whole product:
#   request validation, the OpenAPI document, the catalog, the questions of
#   the site and the admin area all read this object. Each fact has
#   - type: boolean, count (a whole number), choices (a list of its
#     choices), string or strings (a list of texts);
#   - choices: the values a choices fact may hold, in display order;
#   - personal: true for personal data (never logged, stored or put in a
#     URL);
#   - asked_of: contact or admin, who can answer a question about it;
#     absent when nobody is asked (derived, or from integrations only);
#   - order: its place in the asking order; the contact's questions come
#     first, then the admin's, each group in this order;
#   - description: what it means, in English, for integrators (the OpenAPI
#     document shows it).
#   Its texts are Question<Fact> and QuestionHelp<Fact> in locales/, and
#   Choice<Fact><Choice> for each choice.
facts := {
	"identifier": {
		"type": "string", "personal": true,
		"description": "The email or phone number the contact types to log in.",
	},
	"registered_emails": {
		"type": "strings", "personal": true,
		"description": "Emails on the contact card. Compared with identifier ignoring case and surrounding spaces.",
	},
	"registered_phones": {
		"type": "strings", "personal": true,
		"description": "Phone numbers on the contact card. Compared with identifier on their digits and a leading +.",
	},
	"identifier_registered": {
		"type": "boolean", "asked_of": "admin", "order": 1,
		"description": "Is the identifier the one on the contact card? Used when it cannot be derived from identifier and the registered lists; a derived value wins.",
	},
	"opted_out": {
		"type": "boolean", "asked_of": "admin", "order": 2,
		"description": "The contact card shows the contact opted out of communication.",
	},
	"channels_tried": {
		"type": "choices", "choices": ["email", "sms"], "asked_of": "contact", "order": 3,
		"description": "The channels the contact has requested a code by.",
	},
	"spam_checked": {
		"type": "boolean", "asked_of": "contact", "order": 4,
		"description": "The contact looked in the spam folder.",
	},
	"online": {
		"type": "boolean", "asked_of": "contact", "order": 5,
		"description": "The device has a working internet connection.",
	},
	"incognito": {
		"type": "boolean", "asked_of": "contact", "order": 6,
		"description": "Private or incognito browsing.",
	},
	"cookies_autodelete": {
		"type": "boolean", "asked_of": "contact", "order": 7,
		"description": "The browser deletes cookies automatically.",
	},
	"new_device": {
		"type": "boolean", "asked_of": "contact", "order": 8,
		"description": "The contact is on a device they have not logged in from before.",
	},
	"message_published": {
		"type": "boolean", "asked_of": "admin", "order": 9,
		"description": "The message the contact tries to open was published to them.",
	},
	"vpn": {
		"type": "boolean", "asked_of": "contact", "order": 10,
		"description": "The contact is behind a VPN.",
	},
	"codes_requested": {
		"type": "count",
		"description": "How many codes the contact requested in this attempt.",
	},
	"used_latest_code": {
		"type": "boolean", "asked_of": "contact", "order": 11,
		"description": "The contact entered the most recent code.",
	},
}
