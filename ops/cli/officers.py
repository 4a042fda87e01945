"""`liaison officers ...`: officers and staff, rotas, leave, status, CSV import, eligibility."""


from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click

from ops import seed
from ops.cli.base import ROLES, STATUSES, _checked, _officer, _rt, _table, main
from shared.domain import events
from shared.domain.officer_checks import (
    check_channels,
    check_districts,
    check_email,
    check_id,
    check_name,
    check_shifts,
    check_skills,
)
from shared.domain.officers import Availability, Officer, Role, eligibility, new_officer_id
from shared.domain.rota import Leave, Rota
from shared.domain.weekly import days_text, resolve
from shared.officer_records import save_officer
from shared.outbound import Fence, check_channel_urls
from shared.store.officers import OfficerHasCases


def _districts_callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """One code (--district) or several (--cover), checked against the force."""
    if value is None or value == ():
        return value
    try:
        codes = check_districts(_rt(ctx).force, value if param.multiple else [value])
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return codes if param.multiple else codes[0]


def _channels_callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Channel URLs: an allowed scheme, and the host resolved and checked by the fence."""
    if value is None or value == ():
        return value
    try:
        urls = check_channels(value)
        return check_channel_urls(urls, Fence(_rt(ctx).get_settings().outbound_allow))
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _officer_options(update: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options `add` and `update` share (in `update`, an option left out changes nothing)."""
    default = (lambda value: None) if update else (lambda value: value)
    options = [
        click.option("--name", callback=_checked(check_name), required=not update),
        click.option("--district", callback=_districts_callback,
                     help="Home district code (first pool for cases there)."),
        click.option("--cover", multiple=True, callback=_districts_callback,
                     help="A district also covered; repeat for more."
                     + (" Replaces the cover list." if update else "")),
        click.option("--skill", multiple=True, callback=_checked(check_skills),
                     help="e.g. lang:polish, bsl, trans_specialist, youth; repeat for more."
                     + (" Replaces the skills." if update else "")),
        click.option("--capacity", type=click.IntRange(min=0), default=default(3),
                     show_default=not update, help="Open cases at once."),
        click.option("--role", type=click.Choice(ROLES), default=default("officer"),
                     show_default=not update),
        click.option("--email", callback=_checked(check_email), default=default("")),
        click.option("--channel", multiple=True, callback=_channels_callback,
                     help="A notification URL (webhook+https://, mailto://, jsons://, "
                     "workflows://, twilio://...); repeat for more. Internal hosts need "
                     "LIAISON_OUTBOUND_ALLOW."),
        click.option("--shift", multiple=True, callback=_checked(check_shifts),
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


def _save(ctx: click.Context, officer: Officer) -> bool:
    """Save an officer; a changed role first ends their console sessions and revokes their
    API token (before the new role is live), so they sign in again to use it. The console
    never changes a supervisor's or an admin's role: only this CLI, run on the server."""
    rt = _rt(ctx)
    store = rt.get_store()
    old = store.officers.get(officer.id)
    if old is not None and old.role is not officer.role:
        store.accounts.end_access(officer.id)
    on_shift = save_officer(store, officer, rt.tz, rt.clock())
    changed = [k for k, v in officer.fields().items() if old is None or old.fields()[k] != v]
    store.audit.record_officer_update(officer.id, by=rt.actor, changed=changed,
                                      created=old is None, via="cli",
                                      now=rt.clock().timestamp())
    if old is not None and old.role is not officer.role:
        store.accounts.end_access(officer.id)  # and any session begun meanwhile
        rt.audit(events.ACCESS_ENDED, officer_id=officer.id, reason="role_changed")
        click.echo(f"{officer.name} ({officer.id}) is now {officer.role.value} (was "
                   f"{old.role.value}): their console sessions have ended and their API "
                   "token is revoked")
    return on_shift


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
@click.option("--id", "officer_id", callback=_checked(check_id),
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
@click.option("--add-skill", multiple=True, callback=_checked(check_skills))
@click.option("--remove-skill", multiple=True, callback=_checked(check_skills))
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
    _rt(ctx).audit(events.OFFICER_REMOVED, officer_id=officer_id)
    click.echo(f"removed {officer_id} ({officer.name})")


@officers.command("rota")
@click.argument("officer_id", metavar="ID")
@click.option("--shift", multiple=True, callback=_checked(check_shifts),
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
    store, now = _rt(ctx).get_store(), _rt(ctx).clock().timestamp()
    change = store.officers.set_status(officer_id, Availability(status), now=now)
    if change.available:  # the next sweep offers them any waiting case they can take
        store.officers.recheck(officer_id, now)
    click.echo(f"{officer.name} is now {status}; can be offered cases now: "
               f"{'yes' if change.available else 'no'}")
    if change.withdrawn:  # already back in the queue; the next sweep routes them again
        n = len(change.withdrawn)
        click.echo(f"{n} pending offer{'s' if n > 1 else ''} withdrawn and sent back to "
                   "routing")


@officers.command("import")
@click.argument("path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def import_roster(ctx: click.Context, path: str) -> None:
    """Add or update officers from CSV (see ops/data/demo_officers.csv); all or nothing."""
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
@click.option("--skill", multiple=True, callback=_checked(check_skills),
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
