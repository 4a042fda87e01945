"""A force's geography: its districts, their neighbours and the postcodes that map to them."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

DEFAULT_FORCE_FILE: Path = Path(str(resources.files("shared.data") / "hertfordshire.yaml"))

_OUTWARD = r"[A-Z]{1,2}[0-9][0-9A-Z]?"  # A9, A99, A9A, AA9, AA99, AA9A
_OUTWARD_RE = re.compile(_OUTWARD)
_FULL_RE = re.compile(rf"({_OUTWARD})([0-9][A-Z]{{2}})")


class GeographyError(ValueError):
    """A force file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class District:
    """One district of a force: where officers are based and cases are routed."""

    code: str
    name: str
    neighbours: tuple[str, ...]
    outward_codes: tuple[str, ...]


@dataclass(frozen=True)
class SupportService:
    """Where a person can get support besides the police (the force file's `support` list).

    `discreet` is the wording for a person who asked for discretion; a service without it
    (its name alone says what it is about) is left out of discreet pages and messages."""

    name: str
    description: str
    phone: str = ""
    url: str = ""
    discreet: str = ""


@dataclass(frozen=True)
class Force:
    """A police force's area: its districts (ordered by name) and postcode lookup."""

    code: str
    name: str
    timezone: str
    districts: Mapping[str, District] = field(hash=False)
    support: tuple[SupportService, ...] = ()
    _by_outward: Mapping[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        ordered = dict(sorted(self.districts.items(), key=lambda kv: kv[1].name))
        object.__setattr__(self, "districts", MappingProxyType(ordered))
        index = {code: d.code for d in ordered.values() for code in d.outward_codes}
        object.__setattr__(self, "_by_outward", MappingProxyType(index))

    def district(self, code: str) -> District:
        """The district with this code; KeyError naming the code and force if unknown."""
        if code not in self.districts:
            raise KeyError(f"{code!r} is not a district of {self.name}")
        return self.districts[code]

    def has_district(self, code: str) -> bool:
        """Whether this code names one of the force's districts."""
        return code in self.districts

    def neighbours(self, code: str) -> tuple[str, ...]:
        """Codes of the districts bordering this one."""
        return self.district(code).neighbours

    def district_for_postcode(self, postcode: str) -> str | None:
        """District code for a full or outward-only postcode; None if malformed or out of area."""
        outward = outward_code(postcode)
        return None if outward is None else self._by_outward.get(outward)

    def signposts(self, *, discreet: bool = False) -> tuple[SupportService, ...]:
        """The support services to show, in file order; worded for a person who asked for
        discretion when `discreet` (and without the services that have no such wording)."""
        if not discreet:
            return self.support
        return tuple(replace(s, description=s.discreet) for s in self.support if s.discreet)

    def choices(self) -> list[tuple[str, str]]:
        """(code, name) pairs sorted by name, for form selects."""
        return [(d.code, d.name) for d in self.districts.values()]


def normalise_postcode(text: str) -> str | None:
    """Canonical 'AL1 3JX' (or bare outward 'AL1'); None if it is not a UK postcode shape."""
    compact = re.sub(r"\s+", "", text).upper()
    if full := _FULL_RE.fullmatch(compact):
        return f"{full[1]} {full[2]}"
    return compact if _OUTWARD_RE.fullmatch(compact) else None


def outward_code(postcode: str) -> str | None:
    """The outward code ('AL1' of 'AL1 3JX'); None if it is not a UK postcode shape."""
    normal = normalise_postcode(postcode)
    return None if normal is None else normal.split(" ")[0]


def load_force(path: str | os.PathLike[str] | None = None) -> Force:
    """Load and validate a force file (default: bundled Hertfordshire); cached per path."""
    return _load_cached(str(Path(DEFAULT_FORCE_FILE if path is None else path).resolve()))


@functools.lru_cache(maxsize=16)
def _load_cached(path: str) -> Force:
    try:
        return _parse(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except GeographyError as exc:
        raise GeographyError(f"{path}: {exc}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise GeographyError(f"{path}: cannot read force file: {exc}") from exc


def _parse(raw: Any) -> Force:
    top = _mapping(raw, "the file", ("force", "districts"))
    meta = _mapping(top["force"], "force", ("code", "name", "timezone"))
    code, name, tz = (_text(meta[k], f"force.{k}") for k in ("code", "name", "timezone"))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise GeographyError(f"force.timezone: unknown time zone {tz!r}") from None
    if not isinstance(top["districts"], list) or not top["districts"]:
        raise GeographyError("districts: must be a non-empty list")
    districts: dict[str, District] = {}
    owner: dict[str, str] = {}
    for i, item in enumerate(top["districts"]):
        d = _district(item, f"districts[{i}]")
        if d.code in districts:
            raise GeographyError(f"duplicate district code {d.code!r}")
        districts[d.code] = d
        for oc in d.outward_codes:
            if oc in owner:
                raise GeographyError(f"outward code {oc} is listed for both {owner[oc]!r} and "
                                     f"{d.code!r}")
            owner[oc] = d.code
    for d in districts.values():
        for n in d.neighbours:
            if n not in districts or n == d.code:
                raise GeographyError(f"{d.code}: neighbour {n!r} is not another district")
            if d.code not in districts[n].neighbours:
                raise GeographyError(f"neighbours are not symmetric: {d.code!r} lists {n!r} "
                                     f"but {n!r} does not list {d.code!r}")
    support = tuple(_support(item, f"support[{i}]")
                    for i, item in enumerate(_list(top.get("support", []), "support")))
    return Force(code=code, name=name, timezone=tz, districts=districts, support=support)


def _support(item: Any, where: str) -> SupportService:
    raw = _mapping(item, where, ("name", "description"))
    optional = {k: _text(raw[k], f"{where}.{k}") for k in ("phone", "url", "discreet")
                if raw.get(k) is not None}
    if not optional.get("phone") and not optional.get("url"):
        raise GeographyError(f"{where}: give a phone number or a url (or both)")
    if optional.get("url") and not optional["url"].startswith("https://"):
        raise GeographyError(f"{where}.url: must be an https:// address")
    return SupportService(_text(raw["name"], f"{where}.name"),
                          _text(raw["description"], f"{where}.description"), **optional)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise GeographyError(f"{where}: must be a list")
    return value


def _district(item: Any, where: str) -> District:
    raw = _mapping(item, where, ("code", "name", "neighbours", "outward_codes"))
    code = _text(raw["code"], f"{where}.code")
    outwards = tuple(c.upper() for c in _texts(raw["outward_codes"], f"{code}.outward_codes"))
    for oc in outwards:
        if not _OUTWARD_RE.fullmatch(oc):
            raise GeographyError(f"{code}: {oc!r} is not a valid outward code shape")
    return District(code, _text(raw["name"], f"{code}.name"),
                    tuple(_texts(raw["neighbours"], f"{code}.neighbours")), outwards)


def _mapping(value: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GeographyError(f"{where}: must be a mapping")
    if missing := [k for k in keys if k not in value]:
        raise GeographyError(f"{where}: missing key(s) {', '.join(missing)}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise GeographyError(f"{where}: must be a non-empty string")
    return value.strip()


def _texts(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise GeographyError(f"{where}: must be a list")
    return [_text(v, where) for v in value]
