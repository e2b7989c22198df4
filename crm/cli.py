"""The `inreach` command: Flask's CLI of the app plus the operator's commands."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from sqlalchemy import func, select

from crm.extensions import db


def _create_app() -> Flask:
    from crm import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """Inreach: partnership CRM for jails and community organizations."""


main.add_command(shell_command)
main.add_command(routes_command)


def register(app: Flask) -> None:
    from crm.messaging.cli import outbox
    from tasks.cli import beat, jobs, worker

    for command in (
        run,
        demo,
        create_workspace_command,
        create_user_command,
        outbox,
        jobs,
        worker,
        beat,
    ):
        app.cli.add_command(command)


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@with_appcontext
def run(host: str, port: int, threads: int) -> None:
    """Serve the app with waitress (one process, several threads) and, with
    INREACH_SCHEDULER=embedded (the default), run the periodic jobs in this process."""
    from waitress import serve

    app = current_app._get_current_object()
    if app.config["SCHEDULER"] == "embedded":
        from tasks.embedded import start_embedded

        start_embedded(app)
        click.echo("Periodic jobs run in this process (INREACH_SCHEDULER=embedded).")
    click.echo(f"Inreach is serving on http://{host}:{port}  (Ctrl+C to stop)")
    serve(app, host=host, port=port, threads=threads, ident="inreach")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Load the demo workspaces into an empty database, then print the demo logins."""
    from crm.demo import demo_is_loaded, load_demo, read_logins, save_logins
    from crm.workspaces.models import Workspace

    instance = current_app.instance_path
    if db.session.execute(select(func.count(Workspace.id))).scalar_one() == 0:
        logins = load_demo()
        db.session.commit()
        save_logins(instance, logins)
        click.echo("Loaded the demo workspaces.")
    logins = read_logins(instance) if demo_is_loaded() else []
    if not logins:
        click.echo("The database already holds workspaces; no demo was loaded.")
        return
    click.echo("Demo logins (kept in instance/demo-logins.json):")
    for login in logins:
        click.echo(f"  {login.role:<8} {login.email:<32} {login.password}   {login.where}")


@click.command("create-workspace")
@click.argument("name")
@click.option("--timezone", required=True, help="IANA zone, e.g. America/Chicago")
@with_appcontext
def create_workspace_command(name: str, timezone: str) -> None:
    """Create a workspace and print its slug."""
    from crm.workspaces.services import WorkspaceError, create_workspace

    try:
        workspace = create_workspace(name, timezone)
    except WorkspaceError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(workspace.slug)


@click.command("create-user")
@click.argument("email")
@click.option("--workspace", "slug", required=True, help="slug of the workspace")
@click.option("--role", required=True, type=click.Choice(["admin", "staff", "partner", "viewer"]))
@click.option("--organization", default=None, help="public id of the partner's organization")
@click.option("--name", default="", help="the person's name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@with_appcontext
def create_user_command(
    email: str, slug: str, role: str, organization: str | None, name: str, password_stdin: bool
) -> None:
    """Create a user (or add a membership to an existing one) in a workspace."""
    from crm.auth.services import AccountError, create_user, find_user, generate_password
    from crm.partners.models import Organization
    from crm.tenancy import workspace_context
    from crm.workspaces.services import WorkspaceError, add_membership, find_workspace

    workspace = find_workspace(slug)
    if workspace is None:
        raise click.ClickException(f"no workspace with slug {slug!r}")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with workspace_context(workspace.id):
        organization_id = None
        if organization:
            import uuid

            try:
                public_id = uuid.UUID(organization)
            except ValueError:
                raise click.ClickException(
                    "--organization takes the organization's public id"
                ) from None
            org = db.session.execute(
                select(Organization).where(Organization.public_id == public_id)
            ).scalar_one_or_none()
            if org is None:
                raise click.ClickException("no such organization in this workspace")
            organization_id = org.id
        try:
            user = find_user(email)
            generated = None
            if user is None:
                generated = None if password else generate_password()
                user = create_user(email, password or generated, name=name)
            elif password:
                raise click.ClickException(
                    f"{email} already has an account; its password stays as it is "
                    "(run again without --password-stdin to add the membership)"
                )
            add_membership(user, role, organization_id)
        except (AccountError, WorkspaceError) as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
    if generated:
        click.echo(generated)
    else:
        click.echo(f"{user.email} is now {role} in {workspace.slug}", err=True)
