"""`liaison partners ...`: API keys for third-party reporting centres (add, list, revoke).

A key is printed once and kept only as its hash (as staff API tokens are); a case posted
with it (`Authorization: Bearer lp_...`) carries the centre's name. Each command is audited.
"""


from datetime import UTC, datetime

import click

from ops.cli.base import _checked, _rt, _table, main
from shared.domain import events
from shared.domain.partners import check_name
from shared.store.partners import PartnerExists

_name_argument = click.argument("name", metavar="NAME", callback=_checked(check_name))


@main.group()
def partners() -> None:
    """Third-party reporting centres' API keys: add, list, revoke."""


@partners.command("add")
@_name_argument
@click.pass_context
def add_partner(ctx: click.Context, name: str) -> None:
    """Issue an API key for a reporting centre (printed once: only its hash is kept)."""
    rt = _rt(ctx)
    try:
        key = rt.get_store().partners.issue(name, now=rt.clock().timestamp())
    except PartnerExists:
        raise click.ClickException(f"{name!r} already has a live key; "
                                   f"`liaison partners revoke {name}` first") from None
    rt.audit(events.PARTNER_KEY_ISSUED, partner=name)
    click.echo(key)
    click.echo(f"API key for {name}. It is shown only now: only its hash is stored. Give it "
               "to the centre to send as `Authorization: Bearer <key>`.", err=True)


@partners.command("list")
@click.pass_context
def list_partners(ctx: click.Context) -> None:
    """Every reporting centre issued a key, and whether the key is live."""
    rt = _rt(ctx)
    found = rt.get_store().partners.all()
    rt.audit(events.PARTNERS_LISTED, count=str(len(found)))
    _table(["NAME", "KEY", "SINCE"], [
        [p.name, "live" if p.active else "revoked",
         _day(p.created_at if p.active else p.revoked_at or 0)] for p in found])


@partners.command("revoke")
@_name_argument
@click.pass_context
def revoke_partner(ctx: click.Context, name: str) -> None:
    """End a reporting centre's key at once (its posts then get 401)."""
    rt = _rt(ctx)
    if not rt.get_store().partners.revoke(name, now=rt.clock().timestamp()):
        raise click.ClickException(f"{name!r} has no live key (`liaison partners list`)")
    rt.audit(events.PARTNER_KEY_REVOKED, partner=name)
    click.echo(f"revoked the key of {name}")


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")
