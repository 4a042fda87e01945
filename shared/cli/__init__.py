"""`liaison`: manage officers and staff, console logins, API tokens and sealing keys.

An entry point: commands parse options, delegate to `shared.seed` (value checks, the roster
format, `save_officer`) and the store, and print. Settings come from `Settings.from_env()`
unless a test passes a ready `Runtime` as `obj`.
"""


from shared.cli import accounts, officers  # noqa: F401  (register their commands on main)
from shared.cli.base import Runtime, days_text, main
from shared.cli.officers import check_channels

__all__ = ["Runtime", "check_channels", "days_text", "main"]
