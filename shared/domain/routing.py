"""Routing policy (DESIGN §5): which pools to try, in which order, and from which states.

The pick itself runs inside one Lua script (shared/lua/route.lua) so it is atomic; this
module decides its inputs. Within a pool the script takes the eligible officer with the
fewest open cases, then the most preferred skills, then the one idle longest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shared.domain.model import CaseState
from shared.domain.states import TRANSITIONS

FORCE_WIDE = "_all"


def pools_for(district: str | None, neighbours: Callable[[str], Sequence[str]]) -> list[list[str]]:
    """The case's district, then its neighbours, then force-wide (no district: force-wide)."""
    if not district:
        return [[FORCE_WIDE]]
    near = [d for d in neighbours(district) if d != district]
    pools = [[district]]
    if near:
        pools.append(near)
    pools.append([FORCE_WIDE])
    return pools


def sources_of(target: CaseState) -> list[str]:
    """Every state the state machine allows to move to `target` (checked in the scripts)."""
    return [s.value for s, targets in TRANSITIONS.items() if target in targets]


def routable_states() -> list[str]:
    """States a case is routed from: new, or waiting for an officer."""
    return [CaseState.RECEIVED.value, CaseState.WAITING.value]
