"""The case state machine: the one place that says which moves are legal.

`TRANSITIONS` is the graph; `ACTIONS` names each thing that moves a case (action → the
states it may start from → where it leaves the case). The store's scripts check the
source states they are given — always read from here — atomically with the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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
OPEN = frozenset(s for s in S if s is not S.CLOSED)


class Action(StrEnum):
    ROUTE = "route"          # the router offers the case, or it waits
    DRAIN = "drain"          # a freed officer is offered the best waiting case
    ACCEPT = "accept"        # the officer takes their offer
    DECLINE = "decline"      # the officer declines their offer (with a reason)
    EXPIRE = "expire"        # the offer ran out
    WITHDRAW = "withdraw"    # the officer became unable to take offers (away, off shift…)
    CONTACT = "contact"      # contact made or attempted by the holding officer
    CLOSE = "close"          # the holding officer closes with an outcome
    CLOSE_ANY = "close_any"  # a supervisor closes any open case
    REASSIGN = "reassign"    # a supervisor gives it to an officer, or back to routing
    UPDATE = "update"        # the holding officer gave the reporter a Victims' Code update


@dataclass(frozen=True)
class Rule:
    sources: frozenset[S]
    targets: frozenset[S]
    own: bool = False        # only the officer holding the case may do it


ACTIONS: dict[Action, Rule] = {
    Action.ROUTE: Rule(frozenset({S.RECEIVED, S.WAITING}), frozenset({S.OFFERED, S.WAITING})),
    Action.DRAIN: Rule(frozenset({S.WAITING}), frozenset({S.OFFERED})),
    Action.ACCEPT: Rule(frozenset({S.OFFERED}), frozenset({S.ACCEPTED}), own=True),
    Action.DECLINE: Rule(frozenset({S.OFFERED}), frozenset({S.WAITING}), own=True),
    Action.EXPIRE: Rule(frozenset({S.OFFERED}), frozenset({S.WAITING})),
    Action.WITHDRAW: Rule(frozenset({S.OFFERED}), frozenset({S.WAITING})),
    Action.CONTACT: Rule(frozenset({S.ACCEPTED, S.CONTACTED}), frozenset({S.CONTACTED}),
                         own=True),
    Action.CLOSE: Rule(frozenset({S.ACCEPTED, S.CONTACTED}), frozenset({S.CLOSED}), own=True),
    Action.CLOSE_ANY: Rule(OPEN, frozenset({S.CLOSED})),
    Action.REASSIGN: Rule(OPEN, frozenset({S.OFFERED, S.WAITING})),
    # an update is contact with the reporter: it counts as contact made
    Action.UPDATE: Rule(frozenset({S.ACCEPTED, S.CONTACTED}), frozenset({S.CONTACTED}),
                        own=True),
}


def sources(action: Action) -> list[str]:
    """The states `action` may start from, in state order (for the store's scripts)."""
    return [s.value for s in S if s in ACTIONS[action].sources]


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
