"""`liaison accounts ...`: console logins (create, reset password, disable, enable, list)."""


import sys

import click

from ops.cli.base import _checked, _officer, _rt, _table, main
from shared import passwords
from shared.domain import events
from shared.store.accounts import Account, AccountError


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
    _rt(ctx).audit(events.ACCOUNT_CHANGED, officer_id=officer_id, change="created")
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
    _rt(ctx).audit(events.ACCOUNT_CHANGED, officer_id=account.id, change="password_reset")
    click.echo(f"new password set for {username} ({account.name}); their sessions have ended")


@accounts.command("disable")
@_username_argument
@click.pass_context
def disable_account(ctx: click.Context, username: str) -> None:
    """Stop a login from signing in; its sessions end and its API token is revoked at once."""
    account = _account(ctx, username)
    _rt(ctx).get_store().accounts.set_disabled(username, True)
    _rt(ctx).audit(events.ACCOUNT_CHANGED, officer_id=account.id, change="disabled")
    _rt(ctx).audit(events.ACCESS_ENDED, officer_id=account.id, reason="disabled")
    click.echo(f"disabled {username} ({account.name}); their sessions have ended and their "
               "API token is revoked")


@accounts.command("enable")
@_username_argument
@click.pass_context
def enable_account(ctx: click.Context, username: str) -> None:
    """Let a disabled login sign in again (with its existing password)."""
    account = _account(ctx, username)
    _rt(ctx).get_store().accounts.set_disabled(username, False)
    _rt(ctx).audit(events.ACCOUNT_CHANGED, officer_id=account.id, change="enabled")
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
