"""`liaison retention run` and `liaison keys reseal`: the personal data's retention schedule
and the retirement of old sealing keys."""


import time

import click

from ops.cli.base import _rt, keys, main
from shared import retention as schedule
from shared.config import RETENTION_KINDS
from shared.store.reseal import Resealer, ResealProgress


@main.group()
def retention() -> None:
    """The retention schedule: erase the personal data of cases closed long ago."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Count the cases that would be erased; "
              "change nothing.")
@click.pass_context
def retention_run(ctx: click.Context, dry_run: bool) -> None:
    """Erase the personal data (submission and notes) of every case closed longer ago than
    its kind's period (LIAISON_RETENTION_DAYS); statistics fields stay. Audited."""
    rt = _rt(ctx)
    settings = rt.get_settings()
    result = schedule.run(rt.get_store(), settings, now=rt.clock().timestamp(),
                          by=rt.actor, dry_run=dry_run)
    verb = "would be erased" if dry_run else "erased"
    click.echo(f"{result.total} closed cases {verb}"
               + (" (nothing changed: dry run)" if dry_run else ""))
    for kind in RETENTION_KINDS:
        days = settings.retention_seconds(kind) // 86400
        click.echo(f"  {kind}: {result.erased.get(kind, 0)} (closed over {days} days ago)")
    if result.skipped:
        click.echo(f"  {result.skipped} changed meanwhile and were left for the next run")


@keys.command("reseal")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Stop after about this many records (run again to resume).")
@click.option("--every", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Print progress every this many records.")
@click.pass_context
def keys_reseal(ctx: click.Context, limit: int | None, every: int) -> None:
    """Re-seal every sealed record (cases, notes) with the first key of
    LIAISON_SEALING_KEYS, so the other keys can be retired. Resumable and idempotent."""
    rt = _rt(ctx)
    settings = rt.get_settings()
    store = rt.get_store()
    resealer = Resealer(store.redis, store.keys, settings.sealing_keys)
    if resealer.saved_cursor():
        click.echo("resuming an interrupted re-seal", err=True)
    started = time.monotonic()

    def show(p: ResealProgress) -> None:
        click.echo(f"  {p.records} records: {p.resealed} re-sealed, {p.skipped} already "
                   f"current, {len(p.failed)} failed", err=True)

    done = resealer.run(limit=limit, every=every, progress=show)
    seconds = time.monotonic() - started
    store.audit.record_reseal(by=rt.actor, resealed=done.resealed, skipped=done.skipped,
                              failed=len(done.failed), complete=done.complete,
                              now=rt.clock().timestamp())
    rate = done.records / seconds if seconds > 0 else 0.0
    click.echo(f"{done.records} records in {seconds:.1f} s ({rate:.0f}/s): {done.resealed} "
               f"re-sealed, {done.skipped} already current, {len(done.failed)} failed")
    if done.failed:
        click.echo("no current key opens the sealed data of these cases (keep the key that "
                   "sealed them): " + ", ".join(sorted(set(done.failed))), err=True)
    if done.complete:
        click.echo("complete" + ("" if done.failed else ": every sealed record is under the "
                                 "first key; the others may be dropped"))
    else:
        click.echo("stopped early: run `liaison keys reseal` again to resume")
    if done.failed:
        raise click.exceptions.Exit(1)
