"""The case state machine: every (current, target) pair is either allowed or refused loudly."""

from __future__ import annotations

import re
from itertools import product
from pathlib import Path

import pytest

from shared.domain.model import CaseState as S
from shared.domain.states import (
    ACTIONS,
    TRANSITIONS,
    Action,
    IllegalTransition,
    can_move,
    check_move,
    sources,
)

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


# --- the action table ----------------------------------------------------------------------

@pytest.mark.parametrize("action", list(Action), ids=str)
def test_every_action_moves_only_along_legal_edges(action: Action) -> None:
    rule = ACTIONS[action]
    assert rule.sources and rule.targets
    for current, target in product(rule.sources, rule.targets):
        assert can_move(current, target), f"{action}: {current.value} -> {target.value}"


def test_every_action_has_a_rule_and_closed_cases_never_move() -> None:
    assert set(ACTIONS) == set(Action)
    assert all(S.CLOSED not in rule.sources for rule in ACTIONS.values())


def test_officers_act_only_on_their_own_case_and_supervisors_on_any_open_one() -> None:
    assert {a for a, r in ACTIONS.items() if r.own} == {
        Action.ACCEPT, Action.DECLINE, Action.CONTACT, Action.CLOSE, Action.UPDATE}
    assert sources(Action.CLOSE_ANY) == sources(Action.REASSIGN) == [
        "received", "waiting", "offered", "accepted", "contacted"]
    assert sources(Action.CLOSE) == ["accepted", "contacted"]


def test_no_state_list_is_written_out_beside_the_table() -> None:
    """casework and the store read source states from the table, never a literal list."""
    root = Path(__file__).resolve().parents[2]
    states = "|".join(s.value for s in S)
    literal = re.compile(rf"""from_states=\[\s*["']({states})["']""")
    for path in [root / "shared" / "casework.py", *sorted((root / "shared" / "store").glob("*.py")),
                 *sorted((root / "services").rglob("*.py"))]:
        assert not literal.search(path.read_text()), path.relative_to(root)
