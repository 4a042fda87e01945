"""Error messages as the public pages show them (the GOV.UK pattern): specific, naming the
question, in page order, each linking to the first input of its question.

The schemas' messages are written for the API's users and stay as they are; a page turns
each into the wording of its question here. A message with no page wording is shown as
the schema wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# field -> (the page's message for any of the schema's messages on it, unless `EXACT` has
# a more specific one)
BY_FIELD: dict[str, str] = {
    "in_danger": "Select yes if you are in danger now",
    "reporter_role": "Select who is reporting",
    "what_happened": "Enter what happened",
    "when": "Enter the date it happened, or describe when",
    "when.date": "Enter the date it happened, or describe when",
    "when.time": "Enter the time as hours and minutes, like 21:30",
    "incident_location": "Enter the postcode or choose the area where it happened, or "
                         "select 'It happened online'",
    "incident_location.postcode": "Enter the postcode or choose the area where it happened, "
                                  "or select 'It happened online'",
    "incident_location.district": "Choose the area where it happened from the list",
    "hate_strands": "Select at least one reason why you think it happened, or select "
                    "'Not sure'",
    "anonymous": "Select yes if you want to stay anonymous",
    "consent_to_contact": "Select yes if a liaison officer may contact you about this report",
    "contact": "Answer the questions about how we may contact you",
    "contact.name": "Enter the name we should use for you",
    "contact.channels": "Select at least one way it is safe to contact you",
    "contact.phone": "Enter the phone number to use for a phone call or text message",
    "contact.email": "Enter the email address to use",
    "contact.safe_times": "Select when it is safe to contact you",
    "contact.voicemail_ok": "Select yes if it is safe to leave you a voicemail",
    "contact.shared_device": "Select yes if anyone else uses or sees your phone or email",
    "contact.discreet": "Select yes if our messages should avoid words like \"police\"",
    "home_area": "Enter your postcode or choose your area",
    "home_area.postcode": "Enter your postcode or choose your area",
    "home_area.district": "Choose your area from the list",
    "needs.language": "Choose a language from the list, or 'Another language' and say which",
    "needs.language_other": "Enter the language you would like us to use",
}
# (field, schema message) -> the page's message, where the field's own is not specific enough
EXACT: dict[tuple[str, str], str] = {
    ("what_happened", "Use between 10 and 20000 characters."):
        "What happened must be between 10 and 20,000 characters",
    ("when.date", "Enter a real date (YYYY-MM-DD)."): "Date it happened must be a real date",
    ("when.date", "The date cannot be in the future."):
        "Date it happened must be today or in the past",
    ("reason", "Use 5000 characters or fewer."):
        "What you would like to talk about must be 5,000 characters or fewer",
    ("when.description", "Use 200 characters or fewer."):
        "Describe when in 200 characters or fewer",
    ("incident_location.postcode",
     "Enter a UK postcode like AL1 3JX, or just its first part (AL1)."):
        "Enter a real postcode, like AL1 3JX, or just its first part (AL1)",
    ("home_area.postcode", "Enter a UK postcode like AL1 3JX, or just its first part (AL1)."):
        "Enter a real postcode, like AL1 3JX, or just its first part (AL1)",
    ("contact.phone", "Enter a phone number, like 07700 900123."):
        "Enter a phone number in the correct format, like 07700 900123",
    ("contact.email", "Enter an email address, like name@example.com."):
        "Enter an email address in the correct format, like name@example.com",
    ("contact.channels", "'No contact' cannot be combined with other ways."):
        "Select the ways it is safe to contact you",
    ("contact", "Leave contact details out of an anonymous report."):
        "Leave contact details out of an anonymous report",
    ("consent_to_contact", "Tick this if we may contact you, or leave contact details out."):
        "Select yes if a liaison officer may contact you about this report",
    ("needs.language_other", "Leave this empty unless the language is 'other'."):
        "Leave the other language empty unless you chose 'Another language'",
}
# Messages that stay as written wherever they appear (tampering, storage, our own words).
KEEP = ("This is not a field of this form.", "characters that are not text")


def page_message(field: str, message: str) -> str:
    """The page's wording of one schema message about `field`."""
    if any(kept in message for kept in KEEP) or not message.endswith("."):
        return message  # kept as written, or already a page's own wording (no full stop)
    if (field, message) in EXACT:
        return EXACT[(field, message)]
    if message.startswith("Use ") and "characters or fewer" in message:
        return message.rstrip(".")  # a length limit: already specific and short
    if field.startswith("incident_location.district") and "area from the list" in message:
        return message.rstrip(".")
    return BY_FIELD.get(field, message.rstrip("."))


def page_errors(errors: Mapping[str, list[str]], order: Iterable[str]) -> dict[str, list[str]]:
    """Schema errors in the page's wording, one message per question, in page order (`order`:
    the page's field names, first to last; a group sorts with its first field)."""
    position = {name: i for i, name in enumerate(order)}

    def rank(field: str) -> tuple[int, str]:
        if field in position:
            return position[field], field
        children = [i for name, i in position.items() if name.startswith(field + ".")]
        return (min(children) if children else len(position)), field

    worded: dict[str, list[str]] = {}
    for field in sorted(errors, key=rank):
        messages = list(dict.fromkeys(page_message(field, m) for m in errors[field]))
        worded[field] = messages[:1]  # GOV.UK: one message per question, the first problem
    return worded
