"""The `liaison` command group, its runtime (settings and store on first use), the
`token` and `keys` commands, and the helpers the command modules share."""


import getpass
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import click

from shared.bootstrap import make_store
from shared.config import ConfigError, Settings
from shared.domain import events
from shared.domain.officers import Availability, Officer, Role
from shared.geography import Force, GeographyError, load_force
from shared.sealing import new_key
from shared.store import Store, StoreUnavailable

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

    @property
    def actor(self) -> str:
        """Who runs the command, as the audit trail names them: `cli:<os user>`."""
        try:
            return "cli:" + getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (a bare container)
            return "cli"

    def audit(self, kind: str, **fields: str) -> None:
        """One audit entry for this command (DPA 2018 s.62): who, from the CLI, now."""
        self.get_store().audit.record_admin(kind, by=self.actor, via="cli",
                                            now=self.clock().timestamp(), **fields)

    def get_settings(self) -> Settings:
        if self.settings is None:
            self.settings = Settings.from_env()
        return self.settings

    def get_store(self) -> Store:
        if self.store is None:
            s = self.get_settings()
            self.store = make_store(s)
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
        """The Redis URL without any password (or, under Sentinel, the master's name and the
        Sentinels), for error messages."""
        if self.settings is not None and self.settings.sentinel:
            return (f"master {self.settings.redis_master!r} via Sentinels "
                    + ", ".join(self.settings.redis_sentinels))
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


# option callbacks: shared.domain.officer_checks, reported against the option that was given

def _checked(check: Callable[[Any], T]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None or value == ():
            return value
        try:
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return callback



def _officer(ctx: click.Context, officer_id: str) -> Officer:
    officer = _rt(ctx).get_store().officers.get(officer_id)
    if officer is None:
        raise click.ClickException(f"no officer with id {officer_id!r} "
                                   "(`liaison officers list` shows the ids)")
    return officer


@main.command("token")
@click.argument("officer_id", metavar="ID")
@click.pass_context
def token(ctx: click.Context, officer_id: str) -> None:
    """Issue an API token for an officer or supervisor (replaces their old one)."""
    officer = _officer(ctx, officer_id)
    if officer.role is Role.ADMIN:
        raise click.ClickException("API tokens are for officers and supervisors, not admins")
    store = _rt(ctx).get_store()
    replaced = bool(store.officers.raw(officer_id).get("token_digest"))
    issued = store.officers.issue_token(officer_id)
    _rt(ctx).audit(events.TOKEN_ISSUED, officer_id=officer_id,
                   replaced="1" if replaced else "0")
    click.echo(issued)
    click.echo(f"API token for {officer.name} ({officer_id}). It is shown only now: only its "
               "hash is stored. Issuing another replaces it.", err=True)


@main.group("keys", invoke_without_command=True)
@click.pass_context
def keys(ctx: click.Context) -> None:
    """Print a new Fernet key for LIAISON_SEALING_KEYS (put it first to rotate; then
    `liaison keys reseal`, then drop the old key)."""
    if ctx.invoked_subcommand is None:
        click.echo(new_key())


# helpers

def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    rows = [list(headers)] + [list(r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(headers))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                   .rstrip())


if __name__ == "__main__":
    sys.exit(main())
