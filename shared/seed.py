"""Demo data for `make run`: the force (districts) the services route within."""

from __future__ import annotations

from shared.config import Settings
from shared.geography import load_force
from shared.store import Store


def seed_demo(store: Store, settings: Settings) -> str:
    """Record the configured force in Redis (idempotent); return a one-line summary."""
    force = load_force(settings.force_file or None)
    store.force.save(force.code, force.name, force.timezone,
                     {d.code: d.name for d in force.districts.values()})
    return f"{force.name}: {len(force.districts)} districts"
