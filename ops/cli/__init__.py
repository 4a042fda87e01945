"""`liaison`: manage officers and staff, console logins, API tokens and sealing keys.

An entry point: commands parse options, delegate to the officer checks
(`shared.domain.officer_checks`), `shared.officer_records.save_officer`, the roster format
(`ops.seed`) and the store, and print. Settings come from `Settings.from_env()`
unless a test passes a ready `Runtime` as `obj`.
"""


from ops.cli import (  # noqa: F401  (register their commands on main)
    accounts,
    audit,
    backup,
    data,
    officers,
    partners,
)
from ops.cli.base import Runtime, main

__all__ = ["Runtime", "main"]
