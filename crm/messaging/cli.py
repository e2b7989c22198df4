"""`inreach outbox`: the machine's operator reads the outbox, account emails included.

In the embedded default no mail may be configured yet: an invitation or a password reset then
waits in the outbox, and the operator reads its link here and passes it on by hand. Nothing here
is reachable from the web.
"""

from __future__ import annotations

from email.utils import format_datetime, parseaddr

import click
from flask import current_app
from flask.cli import AppGroup

from crm.extensions import db
from crm.messaging.models import MessageStatus
from crm.messaging.services import find_for_operator, list_for_operator

outbox = AppGroup("outbox", help="Read the outbox: every email the app decided to send.")


def _mail_domain() -> str:
    address = parseaddr(current_app.config.get("MAIL_FROM") or "")[1]
    return address.rpartition("@")[2] or "localhost"


@outbox.command("show")
@click.argument("message_id")
def show(message_id: str) -> None:
    """Print one message, headers then body. MESSAGE_ID is its public id."""
    from crm.workspaces.models import Workspace

    message = find_for_operator(message_id)
    if message is None:
        raise click.ClickException(f"no message with id {message_id!r} (see `inreach outbox list`)")
    if message.workspace_id is None:
        where = "none (account email)"
    else:
        workspace = db.session.get(Workspace, message.workspace_id)
        where = workspace.slug if workspace else str(message.workspace_id)
    headers = [
        ("Message-ID", message.message_id(_mail_domain())),
        ("Date", format_datetime(message.created_at)),
        ("From", current_app.config.get("MAIL_FROM") or ""),
        ("To", message.recipient),
        ("Subject", message.subject),
        ("Kind", message.kind),
        ("Workspace", where),
        ("Status", f"{message.status.value}, {message.attempts} attempt(s)"),
    ]
    if message.last_error:
        headers.append(("Last error", " ".join(message.last_error.split())))
    for name, value in headers:
        click.echo(f"{name}: {value}")
    click.echo("")
    click.echo(message.body)


@outbox.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in MessageStatus]),
    default=None,
    help="only messages with this status",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def list_command(status: str | None, limit: int) -> None:
    """The latest messages, one a line: public id, created (UTC), kind, recipient, status."""
    messages = list_for_operator(MessageStatus(status) if status else None, limit)
    if not messages:
        click.echo("No messages.", err=True)
        return
    for m in messages:
        created = m.created_at.strftime("%Y-%m-%d %H:%M UTC")
        click.echo(f"{m.public_id}  {created}  {m.kind:<16}  {m.recipient}  {m.status.value}")


@outbox.command("send")
def send_command() -> None:
    """Send the mail that is due now over SMTP (INREACH_MAIL_HOST, _PORT, _STARTTLS, _USERNAME,
    _PASSWORD, _FROM); without SMTP configured, say how many messages wait. Messages waiting
    for a retry go at their time, not before."""
    from tasks.runner import run_job

    try:
        click.echo(run_job("outbox.send"))
    except Exception as error:  # recorded in JobRun and logged with its traceback
        raise click.ClickException(f"sending failed: {type(error).__name__}: {error}") from None
