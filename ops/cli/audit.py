"""`liaison audit verify` and `liaison audit export`: the audit trail's tamper evidence,
and shipping it to the force's log store (DPA 2018 s.62)."""


import json
import sys
from datetime import UTC, datetime

import click

from ops.cli.base import _rt, main
from shared.domain import events


@main.group()
def audit() -> None:
    """The audit trail: check its hash chain, export it as JSON lines."""


@audit.command("verify")
@click.option("--allow-earlier-secrets", is_flag=True,
              help="Accept entries chained under an earlier LIAISON_SECRET_KEY (after a "
                   "rotation): their links are checked, their hashes cannot be.")
@click.pass_context
def audit_verify(ctx: click.Context, allow_earlier_secrets: bool) -> None:
    """Walk the whole trail, oldest first: every entry must follow the one before it and
    match its hash; exits 1 on a gap, an inserted or altered entry, removed newest ones, or
    entries chained under another secret (unless --allow-earlier-secrets)."""
    verdict = _rt(ctx).get_store().audit.verify()
    if verdict.other_key and not allow_earlier_secrets:
        verdict.problems.append(f"{verdict.other_key} entries are chained under another "
                                "secret: forged, or from before a secret rotation "
                                "(--allow-earlier-secrets accepts the latter)")
    for problem in verdict.problems[:50]:
        click.echo(f"  {problem}", err=True)
    if len(verdict.problems) > 50:
        click.echo(f"  … and {len(verdict.problems) - 50} more", err=True)
    note = f" ({verdict.other_key} chained under an earlier secret, links checked only)" \
        if verdict.other_key else ""
    _rt(ctx).audit(events.AUDIT_VERIFIED, ok="1" if verdict.ok else "0",
                   checked=str(verdict.checked), problems=str(len(verdict.problems)))
    if verdict.ok:
        click.echo(f"audit trail intact: {verdict.checked} entries{note}")
        return
    click.echo(f"audit trail BROKEN: {len(verdict.problems)} problem(s) in "
               f"{verdict.checked} entries{note}", err=True)
    ctx.exit(1)


@audit.command("export")
@click.option("--since", "since", default=None, metavar="DATE",
              help="Only entries from this date or date-time on (ISO 8601, UTC if no zone).")
@click.pass_context
def audit_export(ctx: click.Context, since: str | None) -> None:
    """Write entries, oldest first, as JSON lines on standard output (stream id, time and
    every field, chain hashes included) for the force's log store."""
    start = None
    if since:
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            raise click.BadParameter("use an ISO date like 2026-12-01 or 2026-12-01T09:00",
                                     param_hint="--since") from None
        start = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    count = 0
    for stream_id, fields in _rt(ctx).get_store().audit.entries(since=start):
        sys.stdout.write(json.dumps({"id": stream_id, **fields}, ensure_ascii=False,
                                    sort_keys=True) + "\n")
        count += 1
    _rt(ctx).audit(events.AUDIT_EXPORTED, since=since or "", entries=str(count))
    click.echo(f"{count} audit entries exported", err=True)
