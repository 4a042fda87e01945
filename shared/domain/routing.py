"""Routing policy (DESIGN §5): which pools to try, in which order, and from which states.

The pick itself runs inside one Lua script (shared/lua/route.lua) so it is atomic; this
module decides its inputs. Within a pool the script takes the eligible officer with the
fewest open cases, then the most preferred skills, then the one idle longest. When each
pool opens to a case (by its age) is shared/domain/rings.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shared.domain.states import Action, sources

# "The whole force": the last routing pool (every eligible officer, whatever their
# districts; its availability set is `avail:force_wide`, and lib.lua names it too) and the
# queue of cases with no district of the force.
FORCE_WIDE = "force_wide"

# Offers an officer lets expire in a row before they are set away (and lose the rest).
MISSED_OFFERS_BEFORE_AWAY = 2


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


def routable_states() -> list[str]:
    """States a case is routed from: new, or waiting for an officer (the action table)."""
    return sources(Action.ROUTE)
