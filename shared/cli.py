"""`liaison`: manage officers and staff, console logins, API tokens and sealing keys.

An entry point: commands parse options, delegate to `shared.seed` (value checks, the roster
format, `save_officer`) and the store, and print. Settings come from `Settings.from_env()`
unless a test passes a ready `Runtime` as `obj`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import click

from shared import passwords, seed
from shared.config import ConfigError, Settings
from shared.domain.officers import Availability, Officer, Role, eligibility, new_officer_id
from shared.domain.rota import Leave, Rota
from shared.domain.weekly import WEEKDAYS, resolve
from shared.geography import Force, GeographyError, load_force
from shared.sealing import new_key
from shared.store import Store, StoreUnavailable, redis_client
from shared.store.accounts import Account, AccountError
from shared.store.officers import OfficerHasCases

T = TypeVar("T")
ROLES = [r.value for r in Role]
STATUSES = [a.value for a in Availability]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """What commands need, built on first use (so `liaison keys` reads no settings)."""

    settings: Settings | None = None
    store: Store | None = None
    clock: Callable[[], datetime] = _utcnow
    _force: Force | None = field(default=None, repr=False)

    def get_settings(self) -> Settings:
        if self.settings is None:
            self.settings = Settings.from_env()
        return self.settings

    def get_store(self) -> Store:
        if self.store is None:
            s = self.get_settings()
            self.store = Store(redis_client(s.redis_url), prefix=s.key_prefix,
                               events_maxlen=s.events_maxlen)
        return self.store

    @property
    def force(self) -> Force:
        if self._force is None:
            self._force = load_force(self.get_settings().force_file or None)
        return self._force

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.force.timezone)

    def redis_where(self) -> str:
        """The Redis URL without any password, for error messages."""
        url = urlparse(self.settings.redis_url if self.settings else "")
        host = url.hostname or url.path or "?"
        return f"{url.scheme}://{host}{f':{url.port}' if url.port else ''}"


class _Liaison(click.Group):
    """Turns start-up failures into one clear line and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, GeographyError) as exc:
            click.echo(f"liaison: {exc}", err=True)
            raise click.exceptions.Exit(2) from None
        except StoreUnavailable as exc:
            where = ctx.find_object(Runtime)
            click.echo(f"liaison: cannot reach Redis at {where.redis_where() if where else '?'}"
                       f" ({exc}); is it running? (`make run` starts one)", err=True)
            raise click.exceptions.Exit(1) from None


@click.group(cls=_Liaison, name="liaison")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Liaison administration: officers, rotas, console logins, API tokens and keys."""
    ctx.ensure_object(Runtime)


def _rt(ctx: click.Context) -> Runtime:
    return ctx.ensure_object(Runtime)


# option callbacks: shared.seed's checks, reported against the option that was given

def _checked(check: Callable[[Any], T]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None or value == ():
            return value
        try:
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return callback


def _districts_callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """One code (--district) or several (--cover), checked against the force."""
    if value is None or value == ():
        return value
    try:
        codes = seed.check_districts(_rt(ctx).force, value if param.multiple else [value])
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return codes if param.multiple else codes[0]


def check_channels(urls: Iterable[str]) -> tuple[str, ...]:
    for url in urls:
        if "://" not in url or any(c.isspace() for c in url):
            raise ValueError(f"{url!r} is not a notification URL, like mailto://name@host")
    return tuple(urls)


def _officer_options(update: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options `add` and `update` share (in `update`, an option left out changes nothing)."""
    default = (lambda value: None) if update else (lambda value: value)
    options = [
        click.option("--name", callback=_checked(seed.check_name), required=not update),
        click.option("--district", callback=_districts_callback,
                     help="Home district code (first pool for cases there)."),
        click.option("--cover", multiple=True, callback=_districts_callback,
                     help="A district also covered; repeat for more."
                     + (" Replaces the cover list." if update else "")),
        click.option("--skill", multiple=True, callback=_checked(seed.check_skills),
                     help="e.g. lang:polish, bsl, trans_specialist, youth; repeat for more."
                     + (" Replaces the skills." if update else "")),
        click.option("--capacity", type=click.IntRange(min=0), default=default(3),
                     show_default=not update, help="Open cases at once."),
        click.option("--role", type=click.Choice(ROLES), default=default("officer"),
                     show_default=not update),
        click.option("--email", callback=_checked(seed.check_email), default=default("")),
        click.option("--channel", multiple=True, callback=_checked(check_channels),
                     help="An Apprise notification URL; repeat for more."),
        click.option("--shift", multiple=True, callback=_checked(seed.check_shifts),
                     help="Like 'mon-fri 08:00-16:00' (force time zone); repeat for more."
                     + (" Replaces the shifts, keeps leave." if update else "")),
        click.option("--status", type=click.Choice(STATUSES), default=default("available"),
                     show_default=not update),
    ]

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            func = option(func)
        return func
    return decorate


@main.group()
def officers() -> None:
    """Officers and staff: list, add, update, remove, rotas, leave, status, import."""


def _officer(ctx: click.Context, officer_id: str) -> Officer:
    officer = _rt(ctx).get_store().officers.get(officer_id)
    if officer is None:
        raise click.ClickException(f"no officer with id {officer_id!r} "
                                   "(`liaison officers list` shows the ids)")
    return officer


def _save(ctx: click.Context, officer: Officer) -> bool:
    rt = _rt(ctx)
    return seed.save_officer(rt.get_store(), officer, rt.tz, rt.clock())


def _needs_district(officer: Officer) -> None:
    if officer.role is Role.OFFICER and not officer.districts:
        raise click.BadParameter("an officer needs a home district", param_hint="'--district'")


@officers.command("list")
@click.pass_context
def list_officers(ctx: click.Context) -> None:
    """Everyone, with districts, skills, load, status and whether on shift now."""
    rt = _rt(ctx)
    store, now, tz = rt.get_store(), rt.clock(), rt.tz
    rows = []
    for o in store.officers.all():
        covers = f" (+{', '.join(o.districts[1:])})" if len(o.districts) > 1 else ""
        rows.append([o.id, o.name, o.role.value, (o.home or "-") + covers,
                     ", ".join(sorted(o.skills)) or "-",
                     f"{store.officers.load(o.id)}/{o.capacity}", o.status.value,
                     _shift_now(o.rota, now, tz)])
    _table(["ID", "NAME", "ROLE", "DISTRICTS", "SKILLS", "LOAD", "STATUS", "ON SHIFT"], rows)


@officers.command("add")
@_officer_options(update=False)
@click.option("--id", "officer_id", callback=_checked(seed.check_id),
              help="A stable id (default: a new random one).")
@click.pass_context
def add(ctx: click.Context, name: str, district: str | None,
        cover: tuple[str, ...], skill: frozenset[str] | tuple[()], capacity: int, role: str,
        email: str, channel: tuple[str, ...], shift: tuple[Any, ...], status: str,
        officer_id: str | None) -> None:
    """Add an officer or member of staff; prints the new id."""
    store = _rt(ctx).get_store()
    if officer_id and store.officers.get(officer_id) is not None:
        raise click.BadParameter(f"{officer_id!r} already exists; use `liaison officers "
                                 "update`", param_hint="'--id'")
    officer = Officer(id=officer_id or new_officer_id(), name=name,
                      districts=tuple(dict.fromkeys(((district,) if district else ()) + cover)),
                      role=Role(role), skills=frozenset(skill), capacity=capacity,
                      status=Availability(status), rota=Rota(shifts=tuple(shift)),
                      email=email, channels=channel)
    _needs_district(officer)
    _save(ctx, officer)
    click.echo(officer.id)


@officers.command("update")
@click.argument("officer_id", metavar="ID")
@_officer_options(update=True)
@click.option("--no-cover", is_flag=True, help="Drop every cover district.")
@click.option("--add-skill", multiple=True, callback=_checked(seed.check_skills))
@click.option("--remove-skill", multiple=True, callback=_checked(seed.check_skills))
@click.pass_context
def update(ctx: click.Context, officer_id: str, name: str | None,
           district: str | None, cover: tuple[str, ...],
           skill: frozenset[str] | tuple[()], capacity: int | None, role: str | None,
           email: str | None, channel: tuple[str, ...], shift: tuple[Any, ...],
           status: str | None, no_cover: bool, add_skill: frozenset[str] | tuple[()],
           remove_skill: frozenset[str] | tuple[()]) -> None:
    """Change some of an officer's details; options left out stay as they are."""
    old = _officer(ctx, officer_id)
    home = (district,) if district else old.districts[:1]
    covers = () if no_cover else (cover or old.districts[1:])
    officer = replace(
        old, name=name or old.name, districts=tuple(dict.fromkeys(home + covers)),
        skills=(frozenset(skill) if skill else old.skills) - frozenset(remove_skill)
        | frozenset(add_skill),
        capacity=old.capacity if capacity is None else capacity,
        role=Role(role) if role else old.role, email=old.email if email is None else email,
        channels=channel or old.channels,
        rota=Rota(shifts=tuple(shift), leave=old.rota.leave) if shift else old.rota,
        status=Availability(status) if status else old.status)
    _needs_district(officer)
    _save(ctx, officer)
    click.echo(f"updated {officer.id} ({officer.name})")


@officers.command("remove")
@click.argument("officer_id", metavar="ID")
@click.pass_context
def remove(ctx: click.Context, officer_id: str) -> None:
    """Remove someone who holds no open cases."""
    officer = _officer(ctx, officer_id)
    store = _rt(ctx).get_store()
    try:
        store.officers.remove(officer_id)
    except OfficerHasCases:
        held = store.officers.cases(officer_id)
        raise click.ClickException(
            f"{officer.name} ({officer_id}) still holds {len(held)} open case(s); reassign "
            "them in the console first, then remove") from None
    click.echo(f"removed {officer_id} ({officer.name})")


@officers.command("rota")
@click.argument("officer_id", metavar="ID")
@click.option("--shift", multiple=True, callback=_checked(seed.check_shifts),
              help="Add a shift like 'mon-fri 08:00-16:00'; repeat for more.")
@click.option("--clear", is_flag=True, help="Drop the existing shifts first (leave stays).")
@click.pass_context
def rota(ctx: click.Context, officer_id: str, shift: tuple[Any, ...], clear: bool) -> None:
    """Show an officer's rota, or add shifts to it (--clear to start again)."""
    officer = _officer(ctx, officer_id)
    if shift or clear:
        kept = () if clear else officer.rota.shifts
        shifts = kept + tuple(s for s in shift if s not in kept)
        officer = replace(officer, rota=replace(officer.rota, shifts=shifts))
        _save(ctx, officer)
    _show_rota(ctx, officer)


@officers.command("leave")
@click.argument("officer_id", metavar="ID")
@click.option("--from", "start", help="First day (YYYY-MM-DD) or an ISO date-time.")
@click.option("--to", "end", help="Last day, inclusive (YYYY-MM-DD), or the ISO date-time "
              "leave ends.")
@click.option("--clear", is_flag=True, help="Drop all recorded leave first.")
@click.pass_context
def leave(ctx: click.Context, officer_id: str, start: str | None, end: str | None,
          clear: bool) -> None:
    """Add leave (times in the force's time zone) or clear it; leave beats any shift."""
    officer = _officer(ctx, officer_id)
    if (start is None) != (end is None):
        raise click.UsageError("give both --from and --to (or just --clear)")
    if start is None and not clear:
        _show_rota(ctx, officer)
        return
    now = _rt(ctx).clock()
    kept = () if clear else tuple(lv for lv in officer.rota.leave if lv.end > now)  # drop past
    added: tuple[Leave, ...] = ()
    if start is not None and end is not None:
        tz = _rt(ctx).tz
        first = _instant(start, tz, "--from", end_of_day=False)
        last = _instant(end, tz, "--to", end_of_day=True)
        if last <= first:
            raise click.BadParameter("must be after --from", param_hint="'--to'")
        added = (Leave(first, last),)
    officer = replace(officer, rota=replace(officer.rota, leave=kept + added))
    _save(ctx, officer)
    _show_rota(ctx, officer)


@officers.command("status")
@click.argument("officer_id", metavar="ID")
@click.argument("status", type=click.Choice(STATUSES))
@click.pass_context
def status(ctx: click.Context, officer_id: str, status: str) -> None:
    """Set availability: available, away or off_duty."""
    officer = _officer(ctx, officer_id)
    store = _rt(ctx).get_store()
    takes = store.officers.set_status(officer_id, Availability(status))
    if takes:  # the next sweep offers them any waiting case they can take
        store.officers.recheck(officer_id, _rt(ctx).clock().timestamp())
    click.echo(f"{officer.name} is now {status}; can be offered cases now: "
               f"{'yes' if takes else 'no'}")


@officers.command("import")
@click.argument("path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def import_roster(ctx: click.Context, path: str) -> None:
    """Add or update officers from CSV (see shared/data/demo_officers.csv); all or nothing."""
    rt = _rt(ctx)
    try:
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    existing = {o.id: o for o in rt.get_store().officers.all()}
    officers_read, problems = seed.read_roster(text, rt.force, existing)
    if problems:
        for problem in problems:
            click.echo(f"{path}: {problem}", err=True)
        rows = len({p.line for p in problems})
        raise click.ClickException(f"nothing imported: {len(problems)} problem(s) in "
                                   f"{rows} row(s)")
    for officer in officers_read:
        _save(ctx, officer)
    updated = sum(1 for o in officers_read if o.id in existing)
    click.echo(f"imported {len(officers_read)} ({len(officers_read) - updated} added, "
               f"{updated} updated)")


@officers.command("eligible")
@click.option("--district", callback=_districts_callback,
              help="Show the routing pools for a case in this district.")
@click.option("--skill", multiple=True, callback=_checked(seed.check_skills),
              help="A skill the case needs; repeat for more.")
@click.pass_context
def eligible(ctx: click.Context, district: str | None,
             skill: frozenset[str] | tuple[()]) -> None:
    """Who could be offered a case now, and for everyone else every reason why not."""
    rt = _rt(ctx)
    store, now, tz, force = rt.get_store(), rt.clock(), rt.tz, rt.force
    code = district
    near = set(force.neighbours(code)) if code else set()
    pools = ("district", "neighbour", "force-wide")
    rows, ready = [], 0
    for o in (o for o in store.officers.all() if o.role is Role.OFFICER):
        result = eligibility(o, load=store.officers.load(o.id), at=now, tz=tz,
                             required_skills=skill)
        ready += result.eligible
        pool = ("district" if code in o.districts else
                "neighbour" if near & set(o.districts) else "force-wide")
        rows.append([o.id, o.name, pool, "yes" if result.eligible else "no: "
                     + "; ".join(result.reasons)])
    rows.sort(key=lambda r: (pools.index(r[2]), not r[3].startswith("yes"), r[1]))
    headers = ["ID", "NAME", "POOL", "ELIGIBLE NOW"]
    _table(headers if code else headers[:2] + headers[3:],
           rows if code else [r[:2] + r[3:] for r in rows])
    where = f" for a case in {force.district(code).name}" if code else ""
    click.echo(f"\n{ready} of {len(rows)} officers eligible now{where}")


@main.command("token")
@click.argument("officer_id", metavar="ID")
@click.pass_context
def token(ctx: click.Context, officer_id: str) -> None:
    """Issue an API token for an officer or supervisor (replaces their old one)."""
    officer = _officer(ctx, officer_id)
    if officer.role is Role.ADMIN:
        raise click.ClickException("API tokens are for officers and supervisors, not admins")
    issued = _rt(ctx).get_store().officers.issue_token(officer_id)
    click.echo(issued)
    click.echo(f"API token for {officer.name} ({officer_id}). It is shown only now: only its "
               "hash is stored. Issuing another replaces it.", err=True)


@main.group()
def accounts() -> None:
    """Console logins: create, reset-password, disable, enable, list."""


_username_argument = click.argument("username", metavar="USERNAME",
                                    callback=_checked(passwords.check_username))
_password_stdin_option = click.option(
    "--password-stdin", is_flag=True,
    help="Read the password from the first line of standard input instead of asking.")


def _new_password(username: str, from_stdin: bool) -> str:
    """A password that meets the policy (shared.passwords): read from stdin, or asked twice."""
    def check(text: str) -> str:
        try:
            return passwords.check_password(text, username)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    if from_stdin:
        try:
            return check(sys.stdin.readline().rstrip("\r\n"))
        except click.BadParameter as exc:
            raise click.ClickException(f"password refused: {exc.message}") from None
    return str(click.prompt("New password", hide_input=True, value_proc=check,
                            confirmation_prompt="Repeat the password"))


def _account(ctx: click.Context, username: str) -> Account:
    account = _rt(ctx).get_store().accounts.by_username(username)
    if account is None:
        raise click.ClickException(f"no console login {username!r} "
                                   "(`liaison accounts list` shows them)")
    return account


@accounts.command("create")
@click.option("--id", "officer_id", required=True, help="The staff member's id.")
@click.option("--username", required=True, callback=_checked(passwords.check_username),
              help="3-40 lower-case letters, digits and '._-'.")
@_password_stdin_option
@click.pass_context
def create_account(ctx: click.Context, officer_id: str, username: str,
                   password_stdin: bool) -> None:
    """Give an officer, supervisor or admin a console login (asks for the password twice)."""
    officer = _officer(ctx, officer_id)
    store = _rt(ctx).get_store()
    existing = store.accounts.for_id(officer_id)
    if existing is not None:
        raise click.ClickException(f"{officer.name} already signs in as "
                                   f"{existing.username!r}; use reset-password")
    if store.accounts.by_username(username) is not None:
        raise click.BadParameter(f"{username!r} is taken", param_hint="'--username'")
    password = _new_password(username, password_stdin)
    try:
        store.accounts.create(officer_id, username, passwords.hash_password(password))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{officer.name} ({officer.role.value}) can now sign in as {username}")


@accounts.command("reset-password")
@_username_argument
@_password_stdin_option
@click.pass_context
def reset_password(ctx: click.Context, username: str, password_stdin: bool) -> None:
    """Set a new password: ends the login's sessions and lifts any lock."""
    account = _account(ctx, username)
    password = _new_password(username, password_stdin)
    _rt(ctx).get_store().accounts.set_password(username, passwords.hash_password(password))
    click.echo(f"new password set for {username} ({account.name}); their sessions have ended")


@accounts.command("disable")
@_username_argument
@click.pass_context
def disable_account(ctx: click.Context, username: str) -> None:
    """Stop a login from signing in; its sessions end at once."""
    account = _account(ctx, username)
    _rt(ctx).get_store().accounts.set_disabled(username, True)
    click.echo(f"disabled {username} ({account.name}); their sessions have ended")


@accounts.command("enable")
@_username_argument
@click.pass_context
def enable_account(ctx: click.Context, username: str) -> None:
    """Let a disabled login sign in again (with its existing password)."""
    account = _account(ctx, username)
    _rt(ctx).get_store().accounts.set_disabled(username, False)
    click.echo(f"enabled {username} ({account.name})")


@accounts.command("list")
@click.pass_context
def list_accounts(ctx: click.Context) -> None:
    """Every console login: who it belongs to, and whether it is disabled or locked."""
    rt = _rt(ctx)
    store, now = rt.get_store(), rt.clock()
    rows = []
    for a in store.accounts.all():
        locked = store.accounts.locked_until(a.username) - now.timestamp()
        state = "disabled" if a.disabled else \
            f"locked for {int(locked // 60) + 1} min" if locked > 0 else "active"
        rows.append([a.username, a.id, a.name, a.role.value, state])
    _table(["USERNAME", "ID", "NAME", "ROLE", "LOGIN"], rows)


@main.command("keys")
def keys() -> None:
    """Print a new Fernet key for LIAISON_SEALING_KEYS (put it first to rotate)."""
    click.echo(new_key())


# helpers

def _instant(text: str, tz: ZoneInfo, option: str, *, end_of_day: bool) -> datetime:
    """A date (whole days, in `tz`) or ISO date-time (naive ones read in `tz`), as UTC."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        pass
    else:
        local = datetime.combine(day + timedelta(days=end_of_day), datetime.min.time())
        return resolve(local, tz)
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date (YYYY-MM-DD) or ISO date-time",
                                 param_hint=f"'{option}'") from None
    return resolve(at, tz) if at.tzinfo is None else at.astimezone(UTC)


def _local(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%a %d %b %H:%M")


def _shift_now(r: Rota, now: datetime, tz: ZoneInfo) -> str:
    change = r.next_change(now, tz)
    state = "on leave" if r.on_leave(now) else "yes" if r.on_shift(now, tz) else "no"
    if change is None:
        return state
    return f"{state}, until {_local(change, tz)}" if state == "yes" \
        else f"{state}, from {_local(change, tz)}"


def _show_rota(ctx: click.Context, officer: Officer) -> None:
    rt = _rt(ctx)
    tz = rt.tz
    click.echo(f"{officer.name} ({officer.id}), times in {tz.key}")
    for w in officer.rota.shifts:
        click.echo(f"  shift  {days_text(w.days)} {w.start:%H:%M}-{w.end:%H:%M}")
    for lv in officer.rota.leave:
        click.echo(f"  leave  {_local(lv.start, tz)} to {_local(lv.end, tz)}")
    if not officer.rota.shifts:
        click.echo("  no shifts: never on shift")
    click.echo(f"  on shift now: {_shift_now(officer.rota, rt.clock(), tz)}")


def days_text(days: Sequence[str]) -> str:
    """('mon', 'tue', 'wed', 'fri') -> 'mon-wed,fri'."""
    runs: list[list[int]] = []
    for i in sorted(WEEKDAYS.index(d) for d in days):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ",".join(WEEKDAYS[r[0]] + (f"-{WEEKDAYS[r[-1]]}" if len(r) > 1 else "")
                    for r in runs)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    rows = [list(headers)] + [list(r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(headers))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                   .rstrip())


if __name__ == "__main__":
    sys.exit(main())
