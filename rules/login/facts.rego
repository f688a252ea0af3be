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
#     first, then the admin's, each group in this order.
#   Its texts are Question<Fact> and QuestionHelp<Fact> in locales/, and
#   Choice<Fact><Choice> for each choice.
facts := {
	"identifier": {"type": "string", "personal": true},
	"registered_emails": {"type": "strings", "personal": true},
	"registered_phones": {"type": "strings", "personal": true},
	"identifier_registered": {"type": "boolean", "asked_of": "admin", "order": 1},
	"opted_out": {"type": "boolean", "asked_of": "admin", "order": 2},
	"channels_tried": {"type": "choices", "choices": ["email", "sms"], "asked_of": "contact", "order": 3},
	"spam_checked": {"type": "boolean", "asked_of": "contact", "order": 4},
	"online": {"type": "boolean", "asked_of": "contact", "order": 5},
	"incognito": {"type": "boolean", "asked_of": "contact", "order": 6},
	"cookies_autodelete": {"type": "boolean", "asked_of": "contact", "order": 7},
	"new_device": {"type": "boolean", "asked_of": "contact", "order": 8},
	"message_published": {"type": "boolean", "asked_of": "admin", "order": 9},
	"vpn": {"type": "boolean", "asked_of": "contact", "order": 10},
	"codes_requested": {"type": "count"},
	"used_latest_code": {"type": "boolean", "asked_of": "contact", "order": 11},
}
