"""Partners: third-party reporting centres that post reports with their own API key."""

from __future__ import annotations

import re

#: Every partner key starts so: secret scanners (and people) can tell one on sight.
KEY_PREFIX = "lp_"
MAX_KEY_LENGTH = 200
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}\Z")


def check_name(name: str) -> str:
    """A partner's name as it is stored, shown to officers and audited; ValueError if not."""
    if not _NAME.match(name):
        raise ValueError("use 2 to 40 lower-case letters, digits or '-', starting with a "
                         "letter or digit (for example `galop` or `herts-pride`)")
    return name
