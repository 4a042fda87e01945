"""The case state machine: the one place that says which transitions are legal."""

from __future__ import annotations

from shared.domain.model import CaseState as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.RECEIVED: frozenset({S.WAITING, S.OFFERED, S.CLOSED}),
    # waiting -> waiting: re-routing found nobody again (a no-op, not an error)
    S.WAITING: frozenset({S.WAITING, S.OFFERED, S.CLOSED}),
    # declined or expired offers go back to waiting; a supervisor may reassign (offered)
    S.OFFERED: frozenset({S.ACCEPTED, S.WAITING, S.OFFERED, S.CLOSED}),
    S.ACCEPTED: frozenset({S.CONTACTED, S.WAITING, S.OFFERED, S.CLOSED}),
    S.CONTACTED: frozenset({S.CONTACTED, S.WAITING, S.OFFERED, S.CLOSED}),
    S.CLOSED: frozenset(),
}


class IllegalTransition(ValueError):
    """A state change the rules do not allow; never applied silently."""

    def __init__(self, current: S, target: S) -> None:
        super().__init__(f"a case cannot go from {current.value} to {target.value}")
        self.current, self.target = current, target


def can_move(current: S, target: S) -> bool:
    """Whether `current -> target` is allowed."""
    return target in TRANSITIONS[current]


def check_move(current: S, target: S) -> S:
    """Return `target` if the move is legal, else raise IllegalTransition."""
    if not can_move(current, target):
        raise IllegalTransition(current, target)
    return target
