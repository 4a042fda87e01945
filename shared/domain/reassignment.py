"""A supervisor's reassignment (issue 12): what stands against giving a case to an officer,
and the words for it.

Routing never offers a case to an officer who is off shift, away or off duty, at capacity
or without a skill the case requires. A supervisor may — but only with a reason, which the
audit trail and the case's `CaseReassigned` event keep. The check runs atomically in the
reassign step of shared/lua/case_action.lua against the officer's stored fields (status,
the materialised `on_shift`, open cases, skills); `problems` is its twin for the picker,
which marks each officer before anyone chooses (tests/unit/test_reassignment.py checks the
two agree). The tokens are the script's refusal: the first is the error code, all of them
(comma-separated) its detail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.domain.languages import LANGUAGES

OFFICER_AWAY = "officer_away"
OFFICER_OFF_DUTY = "officer_off_duty"
OFF_SHIFT = "off_shift"
AT_CAPACITY = "at_capacity"
LACKS_SKILL = "lacks_skill"  # a token `lacks_skill:<skill>` per skill missing
CODES = (OFFICER_AWAY, OFFICER_OFF_DUTY, OFF_SHIFT, AT_CAPACITY, LACKS_SKILL)
REASON_MAX = 500  # characters of an override reason


@dataclass(frozen=True)
class Problem:
    code: str         # one of CODES
    skill: str = ""   # LACKS_SKILL: which

    @property
    def token(self) -> str:
        return f"{self.code}:{self.skill}" if self.skill else self.code


def problems(*, status: str, on_shift: bool, load: int, capacity: int,
             skills: Iterable[str], required: Iterable[str]) -> tuple[Problem, ...]:
    """What stands against giving a case needing `required` skills to this officer now, in
    the script's order (empty: nothing; routing could have offered it to them)."""
    found = []
    if status == "away":
        found.append(Problem(OFFICER_AWAY))
    elif status != "available":
        found.append(Problem(OFFICER_OFF_DUTY))
    if not on_shift:
        found.append(Problem(OFF_SHIFT))
    if load >= capacity:
        found.append(Problem(AT_CAPACITY))
    held = set(skills)
    found.extend(Problem(LACKS_SKILL, s) for s in required if s and s not in held)
    return tuple(found)


def parse(detail: str) -> tuple[Problem, ...]:
    """The script's refusal detail back into problems (unknown tokens are dropped)."""
    found = []
    for token in (detail or "").split(","):
        code, _, skill = token.partition(":")
        if code in CODES:
            found.append(Problem(code, skill if code == LACKS_SKILL else ""))
    return tuple(found)


def skill_words(skill: str) -> str:
    """'bsl' -> 'BSL', 'lang:polish' -> 'Polish', 'hate_crime' -> 'Hate crime'."""
    if skill == "bsl":
        return "BSL"
    if skill.startswith("lang:"):
        code = skill[5:]
        return LANGUAGES.get(code, code.replace("_", " ").title())
    return skill.replace("_", " ").capitalize()


def short(problem: Problem) -> str:
    """For the picker's mark: 'off shift', 'needs BSL'."""
    return {OFFICER_AWAY: "away", OFFICER_OFF_DUTY: "off duty", OFF_SHIFT: "off shift",
            AT_CAPACITY: "at capacity"}.get(problem.code) or f"no {skill_words(problem.skill)}"


def sentence(name: str, found: Iterable[Problem], *, load: int | None = None,
             capacity: int | None = None) -> str:
    """'Sam Patel is off shift and at capacity (3 of 3), and does not have BSL.'"""
    found = tuple(found)
    states = []
    for p in found:
        if p.code == AT_CAPACITY and load is not None and capacity is not None:
            states.append(f"at capacity ({load} of {capacity} cases)")
        elif p.code != LACKS_SKILL:
            states.append(short(p))
    missing = [skill_words(p.skill) for p in found if p.code == LACKS_SKILL]
    parts = []
    if states:
        parts.append("is " + _and(states))
    if missing:
        parts.append("does not have " + _and(missing) + " (the case needs it)")
    return f"{name} {', and '.join(parts)}." if parts else f"{name} can take the case."


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
