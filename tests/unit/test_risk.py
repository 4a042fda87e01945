"""The risk rating at intake and the priority raises (shared/domain/risk.py)."""

from __future__ import annotations

import pytest

from shared.domain.model import Priority
from shared.domain.risk import Risk, RiskFacts, raise_priority, rate


def test_no_concerns_is_low_risk():
    assert rate(RiskFacts()) is Risk.LOW
    assert rate(RiskFacts(fear_for_safety="no", vulnerable="no")) is Risk.LOW


@pytest.mark.parametrize("facts", [
    RiskFacts(fear_for_safety="yes"), RiskFacts(vulnerable="yes"),
    RiskFacts(repeat_incident=True), RiskFacts(threats=True),
    RiskFacts(fear_for_safety="not_sure"), RiskFacts(vulnerable="not_sure"),
], ids=str)
def test_one_concern_or_a_not_sure_is_medium_risk(facts):
    assert rate(facts) is Risk.MEDIUM


@pytest.mark.parametrize("facts", [
    RiskFacts(fear_for_safety="yes", vulnerable="yes"),
    RiskFacts(repeat_incident=True, threats=True),
    RiskFacts(fear_for_safety="yes", threats=True, vulnerable="not_sure"),
    RiskFacts(in_danger=True), RiskFacts(happening_now=True),
], ids=str)
def test_two_concerns_or_danger_now_is_high_risk(facts):
    assert rate(facts) is Risk.HIGH


def test_high_risk_raises_priority_one_step():
    assert raise_priority(Priority.STANDARD, high_risk=True, enhanced=False) is Priority.HIGH
    assert raise_priority(Priority.ADVICE, high_risk=True, enhanced=False) is Priority.STANDARD


def test_an_enhanced_case_raises_one_step_and_both_raise_two():
    assert raise_priority(Priority.ADVICE, high_risk=False, enhanced=True) is Priority.STANDARD
    assert raise_priority(Priority.ADVICE, high_risk=True, enhanced=True) is Priority.HIGH


def test_a_raise_never_makes_an_emergency_and_an_emergency_stays():
    assert raise_priority(Priority.HIGH, high_risk=True, enhanced=True) is Priority.HIGH
    assert raise_priority(Priority.STANDARD, high_risk=True, enhanced=True) is Priority.HIGH
    assert raise_priority(Priority.EMERGENCY, high_risk=True, enhanced=True) \
        is Priority.EMERGENCY


def test_nothing_to_raise_leaves_the_priority():
    for p in Priority:
        assert raise_priority(p, high_risk=False, enhanced=False) is p
