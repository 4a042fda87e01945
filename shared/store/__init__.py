"""The one place that talks to Redis: repositories over key families and Lua scripts.

Only this package knows key names. Redis errors surface as `StoreUnavailable`.
"""

from shared.store.base import Keys, StoreUnavailable, redis_client
from shared.store.cases import CaseRepository, CreateOutcome, DuplicateSubmission
from shared.store.facade import Store

__all__ = [
    "CaseRepository",
    "CreateOutcome",
    "DuplicateSubmission",
    "Keys",
    "Store",
    "StoreUnavailable",
    "redis_client",
]
