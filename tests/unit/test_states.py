"""The case state machine: every (current, target) pair is either allowed or refused loudly."""

from __future__ import annotations

from itertools import product

import pytest

from shared.domain.model import CaseState as S
from shared.domain.states import TRANSITIONS, IllegalTransition, can_move, check_move

PAIRS = list(product(S, S))
LEGAL = [(a, b) for a, b in PAIRS if b in TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in PAIRS if b not in TRANSITIONS[a]]


def pair_id(pair: tuple[S, S]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def test_every_state_has_a_rule() -> None:
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize("pair", LEGAL, ids=pair_id)
def test_a_legal_move_is_allowed_and_returns_the_target(pair: tuple[S, S]) -> None:
    current, target = pair

    assert can_move(current, target) is True
    assert check_move(current, target) is target


@pytest.mark.parametrize("pair", ILLEGAL, ids=pair_id)
def test_an_illegal_move_raises_naming_both_states(pair: tuple[S, S]) -> None:
    current, target = pair

    assert can_move(current, target) is False
    with pytest.raises(IllegalTransition) as caught:
        check_move(current, target)
    message = str(caught.value)
    assert f"from {current.value} to {target.value}" in message
    assert (caught.value.current, caught.value.target) == (current, target)


def test_an_illegal_move_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="closed to waiting"):
        check_move(S.CLOSED, S.WAITING)


@pytest.mark.parametrize("target", list(S), ids=lambda s: s.value)
def test_nothing_leaves_closed(target: S) -> None:
    with pytest.raises(IllegalTransition):
        check_move(S.CLOSED, target)


@pytest.mark.parametrize("current", [s for s in S if s is not S.CLOSED], ids=lambda s: s.value)
def test_every_open_case_can_be_closed(current: S) -> None:
    assert check_move(current, S.CLOSED) is S.CLOSED


@pytest.mark.parametrize("current", list(S), ids=lambda s: s.value)
def test_no_case_goes_back_to_received(current: S) -> None:
    assert not can_move(current, S.RECEIVED)


@pytest.mark.parametrize("current", [s for s in S if s is not S.OFFERED], ids=lambda s: s.value)
def test_only_an_offered_case_can_be_accepted(current: S) -> None:
    assert not can_move(current, S.ACCEPTED)


@pytest.mark.parametrize("current", [S.RECEIVED, S.WAITING, S.OFFERED], ids=lambda s: s.value)
def test_a_case_is_contacted_only_after_it_was_accepted(current: S) -> None:
    assert not can_move(current, S.CONTACTED)
    assert can_move(S.ACCEPTED, S.CONTACTED)


def test_a_declined_offer_goes_back_to_waiting() -> None:
    assert check_move(S.OFFERED, S.WAITING) is S.WAITING
