"""Triage at intake: the priority of a new case and the facts that set it."""

from __future__ import annotations

import pytest

from shared.domain.model import CaseKind, Priority
from shared.domain.triage import TriageFacts, triage

URGENT = ("happening_now", "in_danger")
RAISING = ("injuries", "threats", "repeat_incident")


def report(**facts: bool) -> TriageFacts:
    return TriageFacts(kind=CaseKind.REPORT, **facts)


def callback(**facts: bool) -> TriageFacts:
    return TriageFacts(kind=CaseKind.CALLBACK, **facts)


@pytest.mark.parametrize("fact", URGENT)
def test_a_report_happening_now_or_in_danger_is_an_emergency(fact: str) -> None:
    result = triage(report(**{fact: True}))

    assert result.priority is Priority.EMERGENCY
    assert result.emergency is True
    assert result.reasons == (fact,)


def test_a_callback_from_someone_in_danger_is_an_emergency() -> None:
    result = triage(callback(in_danger=True))

    assert result.priority is Priority.EMERGENCY
    assert result.emergency is True
    assert result.reasons == ("in_danger",)


@pytest.mark.parametrize("fact", RAISING)
def test_a_report_with_an_injury_threats_or_repeat_victimisation_is_high(fact: str) -> None:
    result = triage(report(**{fact: True}))

    assert result.priority is Priority.HIGH
    assert result.emergency is False
    assert result.reasons == (fact,)


def test_a_report_with_every_raising_fact_names_them_all() -> None:
    result = triage(report(injuries=True, threats=True, repeat_incident=True))

    assert result.priority is Priority.HIGH
    assert set(result.reasons) == set(RAISING)


def test_a_plain_report_is_standard() -> None:
    result = triage(report())

    assert result.priority is Priority.STANDARD
    assert result.emergency is False
    assert result.reasons == ("report",)


def test_a_callback_is_advice() -> None:
    result = triage(callback())

    assert result.priority is Priority.ADVICE
    assert result.emergency is False
    assert result.reasons == ("callback",)


@pytest.mark.parametrize("urgent", URGENT)
@pytest.mark.parametrize("raising", RAISING)
def test_an_emergency_wins_over_high_reasons(urgent: str, raising: str) -> None:
    result = triage(report(**{urgent: True, raising: True}))

    assert result.priority is Priority.EMERGENCY
    assert result.reasons == (urgent,)


def test_an_emergency_with_both_urgent_facts_names_both() -> None:
    result = triage(report(happening_now=True, in_danger=True, injuries=True))

    assert result.priority is Priority.EMERGENCY
    assert set(result.reasons) == {"happening_now", "in_danger"}


def test_reasons_name_only_facts_that_were_true() -> None:
    result = triage(report(injuries=True, repeat_incident=True))

    assert set(result.reasons) == {"injuries", "repeat_incident"}
    assert "threats" not in result.reasons


def test_emergencies_sort_before_every_other_priority() -> None:
    priorities = [triage(f).priority for f in (
        callback(), report(), report(threats=True), report(happening_now=True))]

    assert sorted(priorities) == [
        Priority.EMERGENCY, Priority.HIGH, Priority.STANDARD, Priority.ADVICE]
