"""Risk rating at intake (victim care): low, medium or high, from a few answers. Pure.

The answers (`RiskFacts`): fear for their safety, targeted before (`repeat_incident`),
something that makes them more vulnerable (disability, age, isolation…), threats of
violence, and in danger or happening now. "Not sure" counts as neither yes nor no.

Rules, in order:
1. In danger or happening now -> HIGH.
2. Two or more of fear for safety, targeted before, vulnerable, threats -> HIGH.
3. One of them, or any "not sure" -> MEDIUM.
4. Otherwise -> LOW.

A HIGH rating raises the case's priority by one step (`raise_priority`); so does an enhanced
(repeat-victim) case, and the two add up. A raise never makes an emergency: that stays for
"in danger or happening now", which tells the reporter to call 999 and alerts the duty
supervisor; a raise stops at HIGH, and an emergency stays an emergency.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.domain.model import Priority

YES, NO, NOT_SURE = "yes", "no", "not_sure"
ANSWERS = (YES, NO, NOT_SURE)


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class RiskFacts:
    fear_for_safety: str = ""   # yes | no | not_sure | "" (not asked or not answered)
    vulnerable: str = ""        # yes | no | not_sure | ""
    repeat_incident: bool = False
    threats: bool = False
    in_danger: bool = False
    happening_now: bool = False


def rate(facts: RiskFacts) -> Risk:
    """The risk rating for a new case (see the module's rules)."""
    if facts.in_danger or facts.happening_now:
        return Risk.HIGH
    raised = sum((facts.fear_for_safety == YES, facts.vulnerable == YES,
                  facts.repeat_incident, facts.threats))
    if raised >= 2:
        return Risk.HIGH
    if raised == 1 or NOT_SURE in (facts.fear_for_safety, facts.vulnerable):
        return Risk.MEDIUM
    return Risk.LOW


def raise_priority(priority: Priority, *, high_risk: bool, enhanced: bool) -> Priority:
    """One step more urgent for a high risk rating, one more for an enhanced (repeat-victim)
    case; a raise stops at HIGH (never to emergency), and an emergency stays."""
    if priority is Priority.EMERGENCY:
        return priority
    steps = int(high_risk) + int(enhanced)
    return Priority(max(int(Priority.HIGH), int(priority) - steps))
