"""`inreach outbox`: the operator reads any message, account emails included."""

from __future__ import annotations

import uuid

import pytest

from crm.extensions import db
from crm.messaging.models import MessageStatus
from crm.messaging.services import queue_message
from crm.tenancy import all_workspaces, workspace_context


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def _run(*args):
        return runner.invoke(args=["outbox", *args])

    return _run


def reset_email(recipient="staff@a.example"):
    return queue_message(
        kind="password_reset",
        idempotency_key=f"password_reset:{uuid.uuid4()}",
        recipient=recipient,
        subject="Reset your Inreach password",
        body="Choose a new password here:\nhttp://127.0.0.1:5000/password/reset/THE-LINK\n",
    )


def test_show_prints_an_account_email_with_its_link(app, run):
    with app.app_context():
        message = reset_email()
        result = run("show", str(message.public_id))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "To: staff@a.example" in out
    assert "Subject: Reset your Inreach password" in out
    assert "Workspace: none (account email)" in out
    assert f"Message-ID: <{message.public_id}@localhost>" in out
    assert "http://127.0.0.1:5000/password/reset/THE-LINK" in out


def test_show_prints_a_workspace_message_with_its_workspace(app, world, run):
    with app.app_context():
        with workspace_context(world.b.id):
            message = queue_message(
                kind="followup_due",
                idempotency_key="followup_due:cli",
                recipient="staff@b.example",
                subject="A follow-up is due",
                body="Open Inreach to see it.",
            )
        result = run("show", str(message.public_id))
    assert result.exit_code == 0, result.output
    assert f"Workspace: {world.b.slug}" in result.output
    assert "Open Inreach to see it." in result.output


@pytest.mark.parametrize("wrong", ["00000000-0000-0000-0000-000000000000", "nonsense", "999999"])
def test_show_fails_clearly_for_an_unknown_id(app, run, wrong):
    with app.app_context():
        result = run("show", wrong)
    assert result.exit_code == 1
    assert f"no message with id '{wrong}'" in result.output


def test_list_shows_one_line_each_and_never_a_body(app, world, run):
    with app.app_context():
        first = reset_email("one@x.example")
        second = reset_email("two@x.example")
        with all_workspaces():  # the sender's view: account emails belong to no workspace
            second.status = MessageStatus.SENT
            db.session.flush()
        everything = run("list")
        sent = run("list", "--status", "sent")
        one = run("list", "--limit", "1")
    assert everything.exit_code == 0, everything.output
    assert str(first.public_id) in everything.output
    assert str(second.public_id) in everything.output
    assert "THE-LINK" not in everything.output
    line = next(x for x in everything.output.splitlines() if str(first.public_id) in x)
    assert "password_reset" in line and "one@x.example" in line and line.endswith("queued")
    assert str(second.public_id) in sent.output and str(first.public_id) not in sent.output
    assert one.output.count("\n") == 1 and str(second.public_id) in one.output


def test_list_refuses_an_unknown_status(app, run):
    with app.app_context():
        result = run("list", "--status", "lost")
    assert result.exit_code == 2
