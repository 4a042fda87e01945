"""Message text, rendered at send time from a notification record's public fields only.

Staff messages carry the reference, priority, district and a console link — never the
account or the reporter's details. A reporter's acknowledgement uses the name they chose
and, when they asked for discretion, says nothing that names the police or the subject.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from shared.domain.model import Priority
from shared.domain.notifications import Kind, Message
from shared.geography import Force, load_force

# Words a discreet message never contains (checked case-insensitively by the tests).
BANNED_WHEN_DISCREET = ("police", "constabulary", "lgbt", "hate crime", "hate", "officer")
_SKILL = re.compile(r"^[a-z0-9][a-z0-9_:.-]{0,39}\Z")  # the skill codes officers are given


# kind -> (subject, first line); {ref} {priority} {district} are filled in.
_STAFF: dict[Kind, tuple[str, str]] = {
    Kind.OFFER: ("[{priority}] Case {ref} offered to you ({district})",
                 "A case has been offered to you. Please accept or decline it in the console."),
    Kind.REASSIGNED: ("[{priority}] Case {ref} assigned to you ({district})",
                      "A supervisor has assigned this case to you."),
    Kind.EMERGENCY: ("[{priority}] Emergency case {ref} received ({district})",
                     "An emergency case has arrived. Make sure someone picks it up now."),
    Kind.EMERGENCY_WAITING: ("[{priority}] Nobody available for emergency case {ref} "
                             "({district})",
                             "No officer could be offered this emergency case. It waits; "
                             "reassign it to someone who can take it now."),
    Kind.WAITING_TOO_LONG: ("[{priority}] Case {ref} is waiting for an officer ({district})",
                            "No eligible officer has taken this case for a while."),
    Kind.SKILL_WAITING: ("[{priority}] Case {ref} is waiting for a scarce skill ({district})",
                         "No officer who has a skill this case needs can take it now. "
                         "It waits for one; consider reassigning it to an officer with the "
                         "skill."),
    Kind.SLA_BREACH: ("[{priority}] Case {ref} missed its time target ({district})",
                      "This case has not been accepted or contacted in time."),
    Kind.REVIEW_BREACH: ("[{priority}] Case {ref} missed its review target ({district})",
                         "This case may not be contacted (anonymous, or no way or consent to "
                         "contact) and has not been reviewed and closed or referred in time."),
    Kind.OFFICER_SET_AWAY: ("[{priority}] Officer set away after missed offers (case {ref})",
                            "An officer missed two offers in a row and was set away; "
                            "the case has gone back to routing."),
    Kind.DEAD_LETTER: ("[{priority}] Notification about case {ref} could not be delivered",
                       "A notification about this case kept failing and has been given up. "
                       "Check the case and the recipient's channels."),
    Kind.UPDATE_OVERDUE: ("[{priority}] Case {ref} is overdue an update to the victim "
                          "({district})",
                          "The Victims' Code update to the person who reported this case is "
                          "overdue. Make sure the officer gives it, or reassign the case."),
}


def render(kind: str, record: Mapping[str, str], console_url: str, *, discreet: bool = False,
           name: str = "", force: Force | None = None, check_code: str = "") -> Message:
    """The subject and body for a notification of `kind` about the case in `record`.

    A reporter's acknowledgement carries their check code only when it is worded plainly:
    never in a discreet one, where "check your report" would say there is a report."""
    force = force or load_force()
    facts = _facts(record, console_url, force)
    if Kind(kind) is Kind.REPORTER_ACK:
        subject, body = _reporter_ack(facts["ref"], name, discreet, force,
                                      "" if discreet else check_code)
        return Message(subject, body, kind=kind, reference=facts["ref"])
    subject_t, opening = _STAFF[Kind(kind)]
    subject = subject_t.format(**facts)
    needs = f"Skill needed: {facts['skills']}\n" if facts["skills"] else ""
    body = (f"{opening}\n\n"
            f"Reference: {facts['ref']}\n"
            f"Priority: {facts['priority']}\n"
            f"District: {facts['district']}\n"
            f"{needs}\n"
            f"Open it in the console: {facts['link']}\n")
    return Message(subject, body, kind=kind, reference=facts["ref"],
                   priority=facts["priority"], district=facts["district"], link=facts["link"])


def _facts(record: Mapping[str, str], console_url: str, force: Force) -> dict[str, str]:
    code = record.get("district", "")
    district = force.districts[code].name if code in force.districts else \
        (code.replace("_", " ").title() if code else "not known")
    try:
        priority = Priority(int(record.get("priority") or "3")).label.title()
    except ValueError:
        priority = "Standard"
    case_id = record.get("case_id", "")
    # skill codes (bsl, lang:polish) are routing data; anything else in the field is dropped
    skills = ", ".join(s for s in record.get("skills", "").split(",") if _SKILL.match(s))
    return {"ref": record.get("reference", ""), "priority": priority, "district": district,
            "link": f"{console_url.rstrip('/')}/cases/{case_id}", "skills": skills}


def _reporter_ack(reference: str, name: str, discreet: bool, force: Force,
                  check_code: str = "") -> tuple[str, str]:
    greeting = f"Hello {name.strip()}," if name.strip() else "Hello,"
    if discreet:
        return (f"Your reference {reference}",
                f"{greeting}\n\n"
                f"Thank you for getting in touch. Your reference is {reference}; please keep "
                "it.\n\n"
                "What happens next: someone from our team will look at what you told us and "
                "contact you in the way and at the times you chose.\n\n"
                f"{_support_lines(force, discreet=True)}"
                "If you are in danger now, call 999.\n")
    return (f"{force.name} LGBT+ liaison: your reference {reference}",
            f"{greeting}\n\n"
            f"Thank you for contacting the {force.name} LGBT+ liaison team. Your reference "
            f"is {reference}; please keep it.\n\n"
            f"{_check_line(check_code)}"
            "What happens next: a liaison officer will look at what you told us and "
            "contact you in the way and at the times you chose.\n\n"
            f"{_support_lines(force, discreet=False)}"
            "If you are in danger now, call 999.\n")


def _support_lines(force: Force, *, discreet: bool) -> str:
    """Where else to get support (the force file's `support` list), or "" when it has none."""
    services = force.signposts(discreet=discreet)
    if not services:
        return ""
    lines = [f"{s.name}: {s.description}" + (f" Phone {s.phone}." if s.phone else "")
             + (f" {s.url}" if s.url else "") for s in services]
    heading = "You can also talk to:" if discreet else "Where to get support:"
    return heading + "\n" + "".join(f"- {line}\n" for line in lines) + "\n"


def _check_line(code: str) -> str:
    if not code:
        return ""
    return (f"Your check code is {code}. With your reference, it lets you see how your "
            "report is going on the \"Check my report\" page of the site you used. Keep it "
            "private: anyone who has both can see the status (never what you told us).\n\n")
