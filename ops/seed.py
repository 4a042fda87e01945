"""Staff rosters: the roster CSV (`liaison officers import`) and `make run`'s demo data.

A roster is CSV with the columns in `COLUMNS`; lists inside a cell are `;`-separated and the
first district is the officer's home. Every row is checked (`shared.domain.officer_checks`)
before anything is written, and every problem is reported with its line and column.
`liaison officers import` and `seed_demo` read the same format, and both save through
`shared.officer_records.save_officer`.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import TypeVar
from zoneinfo import ZoneInfo

from shared.config import Settings
from shared.domain.officer_checks import (
    check_capacity,
    check_districts,
    check_email,
    check_id,
    check_name,
    check_role,
    check_shifts,
    check_skills,
    check_status,
)
from shared.domain.officers import Officer, Role, new_officer_id
from shared.domain.rota import Rota
from shared.geography import Force, load_force
from shared.officer_records import save_officer
from shared.passwords import generate_password, hash_password
from shared.store import Store

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEMO_OFFICERS = resources.files("ops.data") / "demo_officers.csv"
DEMO_OFFICER_ID = "jordan-ellis"        # on call all week, so their token always sees offers
DEMO_SUPERVISOR_ID = "sarah-whitfield"
# (username, staff id): console logins made once, their random passwords printed only then
DEMO_LOGINS = (("jordan", DEMO_OFFICER_ID), ("aisha", "aisha-khan"),
               ("sarah", DEMO_SUPERVISOR_ID), ("alex", "alex-morgan"))
BANNER_INDENT = " " * 20  # under `make run`'s "Demo data" column
COLUMNS = ("name", "role", "districts", "skills", "capacity", "email", "shifts", "status", "id")
REQUIRED_COLUMNS = ("name", "districts")


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.problem}"


def read_roster(text: str, force: Force, existing: Mapping[str, Officer] | None = None,
                ) -> tuple[list[Officer], list[RowProblem]]:
    """Officers from roster CSV, or every problem found. A row whose id is in `existing`
    updates that officer, keeping what the CSV cannot say (leave, notification channels)."""
    existing = existing or {}
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), skipinitialspace=True)
    header = [h.strip().lower() for h in reader.fieldnames or ()]
    reader.fieldnames = header
    problems = [RowProblem(1, h or "(blank)", "unknown column; expected "
                           + ",".join(COLUMNS)) for h in header if h not in COLUMNS]
    problems += [RowProblem(1, c, "missing column") for c in REQUIRED_COLUMNS
                 if c not in header]
    if problems:
        return [], problems
    officers: list[Officer] = []
    seen: set[str] = set()
    names = {o.name: o.id for o in existing.values()}  # a re-import without ids must not double
    for row in reader:
        cells = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        if not any(cells.values()) and None not in row:
            continue  # blank line
        here: list[RowProblem] = []
        if None in row:
            here.append(RowProblem(reader.line_num, "(end)", "more values than columns"))
        officer = _row_officer(cells, force, existing, reader.line_num, here)
        if officer is not None and officer.id in seen:
            here.append(RowProblem(reader.line_num, "id", f"{officer.id!r} appears twice"))
        if officer is not None and not cells.get("id") and officer.name in names:
            here.append(RowProblem(reader.line_num, "id", f"{officer.name} is already "
                                   f"{names[officer.name]}; give that id to update them"))
        if officer is not None and not here:
            seen.add(officer.id)
            officers.append(officer)
        problems += here
    return ([] if problems else officers), problems


def _row_officer(cells: Mapping[str, str], force: Force, existing: Mapping[str, Officer],
                 line: int, problems: list[RowProblem]) -> Officer | None:
    def cell(column: str, check: Callable[[str], T]) -> T | None:
        try:
            return check(cells.get(column, ""))
        except ValueError as exc:
            problems.append(RowProblem(line, column, str(exc)))
            return None

    name = cell("name", check_name)
    role = cell("role", check_role)
    districts = cell("districts", lambda t: check_districts(force, _items(t)))
    skills = cell("skills", lambda t: check_skills(_items(t)))
    capacity = cell("capacity", lambda t: check_capacity(t or "3"))
    email = cell("email", check_email)
    shifts = cell("shifts", lambda t: check_shifts(_items(t)))
    status = cell("status", check_status)
    officer_id = cell("id", lambda t: check_id(t) if t else new_officer_id())
    if role is Role.OFFICER and districts == ():
        problems.append(RowProblem(line, "districts", "an officer needs a home district"))
    if (name is None or role is None or districts is None or skills is None
            or capacity is None or email is None or shifts is None or status is None
            or officer_id is None or problems):
        return None
    old = existing.get(officer_id)
    return Officer(id=officer_id, name=name, districts=districts, role=role, skills=skills,
                   capacity=capacity, status=status, email=email,
                   rota=Rota(shifts=shifts, leave=old.rota.leave if old else ()),
                   channels=old.channels if old else ())


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(";") if item.strip()]


def seed_demo(store: Store, settings: Settings, *, now: datetime | None = None) -> str:
    """Record the force; on first run add demo staff, two API tokens and console logins
    (passwords only in the returned summary; stored as argon2 hashes); return a summary."""
    force = load_force(settings.force_file or None)
    store.force.save(force.code, force.name, force.timezone,
                     {d.code: d.name for d in force.districts.values()})
    head = f"{force.name}: {len(force.districts)} districts"
    staff = store.officers.all()
    if staff:  # never duplicate demo staff or undo edits made since the first run
        return f"{head}, {len(staff)} staff (existing)" + _demo_logins(store)
    officers, problems = read_roster(DEMO_OFFICERS.read_text(encoding="utf-8"), force)
    if problems:  # e.g. LIAISON_FORCE_FILE names another force
        logger.warning("demo officers skipped: %s problem(s), first: %s",
                       len(problems), problems[0])
        return f"{head}; no demo staff (demo_officers.csv does not fit this force)"
    at, tz = now or datetime.now(UTC), ZoneInfo(force.timezone)
    for officer in officers:
        save_officer(store, officer, tz, at)
    names = {o.id: o.name for o in officers}
    officer_token = store.officers.issue_token(DEMO_OFFICER_ID)
    supervisor_token = store.officers.issue_token(DEMO_SUPERVISOR_ID)
    return (f"{head}, {len(officers)} staff; demo officer token {officer_token} "
            f"(officer {names[DEMO_OFFICER_ID]}), supervisor token {supervisor_token} "
            f"(supervisor {names[DEMO_SUPERVISOR_ID]})" + _demo_logins(store))


def _demo_logins(store: Store) -> str:
    """Console logins for the demo staff, once: only while nobody has a login at all (so a
    data directory from before logins existed gets them too). Returns lines to print."""
    if store.accounts.all():
        return ""
    lines = []
    for username, staff_id in DEMO_LOGINS:
        officer = store.officers.get(staff_id)
        if officer is None:  # removed since the first run
            continue
        password = generate_password(username)
        store.accounts.create(staff_id, username, hash_password(password))
        lines.append(f"  {officer.role.value:<11}{username:<8}{password}  ({officer.name})")
    if not lines:
        return ""
    head = ("Console logins (shown only now; `liaison accounts reset-password NAME` makes a "
            "new one):")
    return "".join(f"\n{BANNER_INDENT}{line}" for line in [head, *lines])
