"""Triage at intake: how urgent a new case is, and why. Pure rules, no I/O.

Rules, in order:
1. Happening now or in danger -> EMERGENCY: the reporter is told to call 999 now and the
   duty supervisor is alerted at once.
2. A report with an injury, threats of violence, or repeat victimisation -> HIGH.
3. Any other report -> STANDARD.
4. A callback (a request for advice) -> ADVICE, unless rule 1 applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.model import CaseKind, Priority


@dataclass(frozen=True)
class TriageFacts:
    kind: CaseKind
    happening_now: bool = False
    in_danger: bool = False
    injuries: bool = False
    threats: bool = False
    repeat_incident: bool = False


@dataclass(frozen=True)
class Triage:
    priority: Priority
    reasons: tuple[str, ...]

    @property
    def emergency(self) -> bool:
        return self.priority is Priority.EMERGENCY


def triage(facts: TriageFacts) -> Triage:
    """Priority for a new case with the reasons that set it (reasons name facts, not text)."""
    urgent = [name for name in ("happening_now", "in_danger") if getattr(facts, name)]
    if urgent:
        return Triage(Priority.EMERGENCY, tuple(urgent))
    if facts.kind is CaseKind.CALLBACK:
        return Triage(Priority.ADVICE, ("callback",))
    raising = [name for name in ("injuries", "threats", "repeat_incident") if getattr(facts, name)]
    if raising:
        return Triage(Priority.HIGH, tuple(raising))
    return Triage(Priority.STANDARD, ("report",))
