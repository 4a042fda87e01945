"""Helpers for tests of Redis under Sentinel (ops/devsentinel.py)."""

from __future__ import annotations

import gc
import warnings


def collect_redis_garbage() -> None:
    """Free the clients a test made, quietly.

    redis-py's Sentinel-managed connections and their pool refer to each other, so clients
    nobody closed are freed by the cycle collector — which may finalise a socket before the
    connection that would have closed it: a ResourceWarning about garbage (pytest turns it
    into an error at the end of the session), not a leak of anything live. Call this once
    the servers are gone.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
