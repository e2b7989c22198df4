"""Delivering the outbox to a real SMTP server (aiosmtpd on 127.0.0.1, started here): claimed
with a lease, sent once with a Message-ID of its own, retried on 4xx, failed and suppressed on
5xx, waiting while the server is down or not configured."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from config import load_config
from crm import clock
from crm.auth.models import SuppressedAddress
from crm.extensions import db
from crm.messaging.delivery import (
    LEASE,
    MAX_ATTEMPTS,
    SUPPRESSED,
    MailSettings,
    send_outbox,
)
from crm.messaging.models import Message, MessageStatus
from crm.messaging.services import queue_message
from crm.tenancy import all_workspaces, workspace_context
from tests.messaging.smtp import SERVER_NAME, SMTPServer

T0 = datetime(2026, 11, 6, 15, 5, tzinfo=UTC)  # Friday 09:05 in Chicago
SENDER = "Inreach <no-reply@inreach.test>"


@pytest.fixture(autouse=True)
def context(app):
    with app.app_context():
        yield


@pytest.fixture
def travel():
    with clock.frozen(T0) as travel:
        yield travel


@pytest.fixture
def server():
    server = SMTPServer().start()
    yield server
    server.stop()


def settings_for(server: SMTPServer, **overrides) -> MailSettings:
    values = {
        "host": "127.0.0.1",
        "port": server.port,
        "starttls": False,
        "sender": SENDER,
        "timeout": 5,
        **overrides,
    }
    return MailSettings(**values)


@pytest.fixture
def settings(server) -> MailSettings:
    return settings_for(server)


def queue(world, *recipients: str, subject: str = "A follow-up is due") -> list[int]:
    """One message of workspace A to each recipient, committed (a savepoint of the test's
    transaction, as a sweep's commit would be); their ids."""
    ids = []
    with workspace_context(world.a.id):
        for recipient in recipients:
            message = queue_message(
                kind="followup_stage_1",
                idempotency_key=f"test:{uuid.uuid4()}",
                recipient=recipient,
                subject=subject,
                body="Open it: http://127.0.0.1:5000/follow-ups/x\n",
            )
            ids.append(message.id)
    db.session.commit()
    return ids


def row(message_id: int) -> Message:
    """The row as the database has it now (the sender works on detached copies)."""
    with all_workspaces():
        message = db.session.execute(
            select(Message)
            .where(Message.id == message_id)
            .execution_options(populate_existing=True)
        ).scalar_one()
        db.session.expunge(message)  # plain values: reading them needs no query
    db.session.rollback()
    return message


def suppressed() -> list[str]:
    emails = list(db.session.execute(select(SuppressedAddress.email)).scalars())
    db.session.rollback()
    return emails


def test_a_message_goes_out_once_with_its_headers(world, travel, server, settings):
    (message_id,) = queue(world, "staff@a.example")
    result = send_outbox(settings)
    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    assert str(result) == "1 sent, 0 to retry, 0 failed"
    (received,) = server.received
    message = row(message_id)
    assert received.mail_from == "no-reply@inreach.test"
    assert received.rcpt_tos == ["staff@a.example"]
    assert received.email["To"] == "staff@a.example"
    assert received.email["From"] == SENDER
    assert received.email["Subject"] == "A follow-up is due"
    assert received.message_id == f"<{message.public_id}@inreach.test>"
    assert received.email["Date"] == "Fri, 06 Nov 2026 15:05:00 +0000"
    assert "/follow-ups/x" in received.email.get_content()
    assert (message.status, message.attempts, message.sent_at) == (MessageStatus.SENT, 1, T0)
    assert message.last_error == ""

    travel.forward(hours=1)
    assert str(send_outbox(settings)) == "0 sent, 0 to retry, 0 failed"
    assert len(server.received) == 1 and server.connections == 1  # nothing due: not connected


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_451_three_times_then_250_is_delivered_once_after_four_attempts(
    world, travel, server, settings, stage
):
    (message_id,) = queue(world, "staff@a.example")
    answer = server.answer_rcpt if stage == "rcpt" else server.answer_data
    answer("451 4.3.0 try later", times=3)
    tried_at = []
    for attempt in (1, 2, 3):
        tried_at.append(clock.now())
        result = send_outbox(settings)
        assert (result.sent, result.retried, result.failed) == (0, 1, 0)
        message = row(message_id)
        assert message.status is MessageStatus.QUEUED
        assert message.attempts == attempt
        assert message.last_error == "451 4.3.0 try later"
        assert message.claimed_at is None
        # exponential backoff with up to 20 % jitter: about 1, 2, 4 minutes
        delay = message.next_attempt_at - clock.now()
        base = timedelta(minutes=2 ** (attempt - 1))
        assert base <= delay <= base * 1.2
        # not due yet: a run in between leaves it alone and does not connect
        connections = server.connections
        travel.forward(seconds=(delay - timedelta(seconds=1)).total_seconds())
        assert send_outbox(settings).retried == 0
        assert server.connections == connections
        travel.forward(seconds=1)
    result = send_outbox(settings)
    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    message = row(message_id)
    assert (message.status, message.attempts, message.last_error) == (MessageStatus.SENT, 4, "")
    (received,) = server.received  # exactly once
    assert received.message_id == f"<{message.public_id}@inreach.test>"
    assert server.rcpt_commands("staff@a.example") == 4


def test_a_message_still_refused_after_max_attempts_fails_without_suppression(
    world, travel, server, settings
):
    (message_id,) = queue(world, "staff@a.example")
    server.answer_data("452 4.2.2 mailbox full", times=MAX_ATTEMPTS)
    for _ in range(MAX_ATTEMPTS):
        send_outbox(settings)
        travel.forward(hours=3)
    message = row(message_id)
    assert (message.status, message.attempts) == (MessageStatus.FAILED, MAX_ATTEMPTS)
    assert message.last_error == "452 4.2.2 mailbox full"
    assert suppressed() == []
    travel.forward(days=1)
    send_outbox(settings)
    assert server.data_commands == MAX_ATTEMPTS and server.received == []


def test_550_fails_suppresses_the_address_and_is_never_retried(world, travel, server, settings):
    server.refuse("gone@nowhere.example", "550 5.1.1 no such user")
    gone, other = queue(world, "gone@nowhere.example", "staff@a.example")
    result = send_outbox(settings)
    assert (result.sent, result.retried, result.failed) == (1, 0, 1)
    message = row(gone)
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 1)
    assert message.last_error == "550 5.1.1 no such user"
    assert suppressed() == ["gone@nowhere.example"]
    assert row(other).status is MessageStatus.SENT  # the rest of the batch goes on
    assert [r.rcpt_tos for r in server.received] == [["staff@a.example"]]

    for _ in range(3):  # later runs never try it again
        travel.forward(hours=5)
        send_outbox(settings)
    assert server.rcpt_commands("gone@nowhere.example") == 1

    # suppressed addresses are global and per address (any case, any workspace)
    connections = server.connections
    with workspace_context(world.b.id):
        later = queue_message(
            kind="followup_stage_1",
            idempotency_key=f"test:{uuid.uuid4()}",
            recipient="Gone@Nowhere.example",
            subject="A follow-up is due",
            body="",
        ).id
    db.session.commit()
    result = send_outbox(settings)
    assert (result.sent, result.failed) == (0, 1)
    message = row(later)
    assert (message.status, message.last_error) == (MessageStatus.FAILED, SUPPRESSED)
    assert server.connections == connections  # the server was not contacted
    assert server.rcpt_commands("gone@nowhere.example") == 1


def test_a_policy_refusal_fails_the_message_but_suppresses_nobody(world, travel, server, settings):
    """5.7.x is about us (relay, authentication, reputation), not the address: suppressing it
    would silence every recipient of a misconfigured relay for good."""
    server.refuse("staff@a.example", "554 5.7.1 Relay access denied")
    (message_id,) = queue(world, "staff@a.example")
    assert send_outbox(settings).failed == 1
    message = row(message_id)
    assert (message.status, message.last_error) == (
        MessageStatus.FAILED,
        "554 5.7.1 Relay access denied",
    )
    assert suppressed() == []


def test_a_refused_sender_is_the_servers_problem_and_suppresses_nobody(
    world, travel, server, settings
):
    ids = queue(world, "staff@a.example", "admin@a.example")
    server.answer_mail("530 5.7.0 Authentication required")
    result = send_outbox(settings)
    assert (result.sent, result.failed) == (0, 0)
    assert "530 5.7.0 Authentication required" in str(result)
    for message in map(row, ids):
        assert (message.status, message.attempts) == (MessageStatus.QUEUED, 0)
        assert message.last_error == "SMTP unavailable: 530 5.7.0 Authentication required"
        assert message.next_attempt_at > clock.now()
    assert suppressed() == []
    travel.forward(minutes=2)
    assert send_outbox(settings).sent == 2


def test_server_down_messages_wait_with_the_error_and_go_out_when_it_is_back(
    world, travel, server, settings
):
    server.stop()
    ids = queue(world, "staff@a.example", "admin@a.example", "viewer@a.example")
    result = send_outbox(settings)
    assert (result.sent, result.retried, result.failed) == (0, 3, 0)
    assert "SMTP unavailable, mail waits in the outbox" in str(result)
    for message in map(row, ids):
        assert message.status is MessageStatus.QUEUED
        assert message.attempts == 0  # never offered to any server: no attempt spent
        assert message.last_error.startswith("SMTP unavailable: ConnectionRefusedError")
        assert message.next_attempt_at > clock.now()
        assert message.claimed_at is None
    # down all weekend: runs every few minutes fail nobody and suppress nobody
    for _ in range(16):
        travel.forward(hours=4)
        assert send_outbox(settings).sent == 0
    assert {row(i).status for i in ids} == {MessageStatus.QUEUED}
    assert suppressed() == []

    server.start()  # back, on the same port
    assert send_outbox(settings).sent == 0  # their time has not come yet
    travel.forward(minutes=2)
    result = send_outbox(settings)
    assert (result.sent, result.retried, result.failed) == (3, 0, 0)
    assert sorted(r.rcpt_tos[0] for r in server.received) == [
        "admin@a.example",
        "staff@a.example",
        "viewer@a.example",
    ]
    assert {(row(i).status, row(i).last_error) for i in ids} == {(MessageStatus.SENT, "")}


class Killed(Exception):
    """The sender dying between the server's 250 and our commit."""


def test_a_sender_killed_after_the_server_accepted_sends_again_with_the_same_message_id(
    world, travel, server, settings
):
    first, second, third = queue(world, "staff@a.example", "admin@a.example", "viewer@a.example")

    def die(message_id):
        raise Killed(message_id)

    with pytest.raises(Killed):
        send_outbox(settings, after_send=die)
    assert [r.rcpt_tos for r in server.received] == [["staff@a.example"]]
    message = row(first)
    assert (message.status, message.claimed_at, message.attempts) == (MessageStatus.SENDING, T0, 1)
    # the messages it had not offered yet are back in the queue at once, no attempt spent
    assert [(row(i).status, row(i).attempts) for i in (second, third)] == [
        (MessageStatus.QUEUED, 0),
        (MessageStatus.QUEUED, 0),
    ]

    travel.forward(minutes=1)
    assert send_outbox(settings).sent == 2  # the others go; the fresh lease is left alone
    travel.forward(seconds=(LEASE - timedelta(minutes=1, seconds=1)).total_seconds())
    assert send_outbox(settings).sent == 0  # T0 + LEASE - 1 s: still not taken over
    assert row(first).status is MessageStatus.SENDING

    travel.forward(seconds=2)  # the lease is stale: taken over, sent again
    assert send_outbox(settings).sent == 1
    message = row(first)
    assert (message.status, message.attempts) == (MessageStatus.SENT, 2)
    copies = [r.message_id for r in server.received if r.rcpt_tos == ["staff@a.example"]]
    assert copies == [f"<{message.public_id}@inreach.test>"] * 2  # a repeat, recognisable
    assert len(server.received) == 4


def test_a_stale_lease_left_by_a_dead_sender_is_taken_over(world, travel, server, settings):
    (message_id,) = queue(world, "staff@a.example")
    with all_workspaces():
        message = db.session.get(Message, message_id)
        message.status = MessageStatus.SENDING
        message.claimed_at = T0 - LEASE - timedelta(seconds=1)
        message.attempts = 1
        db.session.commit()
    assert send_outbox(settings).sent == 1
    assert (row(message_id).status, row(message_id).attempts) == (MessageStatus.SENT, 2)


def test_a_421_hang_up_costs_one_retry_and_the_next_message_reconnects(
    world, travel, server, settings
):
    first, second = queue(world, "staff@a.example", "admin@a.example")
    server.answer_rcpt("421 4.3.2 shutting down")
    result = send_outbox(settings)
    assert (result.sent, result.retried) == (1, 1)
    assert row(first).last_error == "421 4.3.2 shutting down"
    assert row(second).status is MessageStatus.SENT
    assert server.connections == 2


def test_a_message_no_server_can_take_fails_alone(world, travel, server, settings):
    bad, good = queue(world, "staff@a.example", "admin@a.example")
    with all_workspaces():
        db.session.get(Message, bad).subject = "Injected\nBcc: everyone@example.com"
        db.session.commit()
    result = send_outbox(settings)
    assert (result.sent, result.failed) == (1, 1)
    assert row(bad).status is MessageStatus.FAILED
    assert row(bad).last_error.startswith("cannot be sent:")
    assert [r.rcpt_tos for r in server.received] == [["admin@a.example"]]


def test_batches_are_claimed_until_nothing_is_due(world, travel, server, settings):
    ids = queue(world, *(f"person{n}@a.example" for n in range(5)))
    assert send_outbox(settings, batch_size=2).sent == 5
    assert {row(i).status for i in ids} == {MessageStatus.SENT}


# --- settings -------------------------------------------------------------------------------


def test_without_mail_host_everything_waits_and_says_how_many(world, travel, app):
    ids = queue(world, "staff@a.example", "admin@a.example")
    assert MailSettings.from_config(app.config) is None
    result = send_outbox(None)
    assert str(result) == "no SMTP configured: 2 message(s) wait in the outbox"
    assert {(row(i).status, row(i).attempts) for i in ids} == {(MessageStatus.QUEUED, 0)}
    output = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert output.exit_code == 0, output.output
    assert output.output == "no SMTP configured: 2 message(s) wait in the outbox\n"


def test_without_mail_host_and_nothing_queued_it_still_says_so(world, travel):
    assert str(send_outbox(None)) == "no SMTP configured: 0 message(s) wait in the outbox"


def test_settings_from_the_environment(server):
    config = load_config(
        "test",
        environ={
            "INREACH_MAIL_HOST": "127.0.0.1",
            "INREACH_MAIL_PORT": str(server.port),
            "INREACH_MAIL_STARTTLS": "false",
            "INREACH_MAIL_USERNAME": "inreach",
            "INREACH_MAIL_PASSWORD": "s3cret",
            "INREACH_MAIL_FROM": SENDER,
        },
    )
    settings = MailSettings.from_config(config)
    assert (settings.host, settings.port, settings.starttls) == ("127.0.0.1", server.port, False)
    assert (settings.username, settings.password, settings.domain) == (
        "inreach",
        "s3cret",
        "inreach.test",
    )
    # a mapping given to create_app may say "false" too: it means false
    assert MailSettings.from_config({"MAIL_HOST": "h", "MAIL_STARTTLS": "false"}).starttls is False
    assert MailSettings.from_config({"MAIL_HOST": "h"}).starttls is True


def test_outbox_send_with_starttls_off_in_the_config(world, travel, server, app, monkeypatch):
    for key, value in {
        "MAIL_HOST": "127.0.0.1",
        "MAIL_PORT": server.port,
        "MAIL_STARTTLS": False,
        "MAIL_FROM": SENDER,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    (message_id,) = queue(world, "staff@a.example")
    output = app.test_cli_runner().invoke(args=["outbox", "send"])
    assert output.exit_code == 0, output.output
    assert output.output == "1 sent, 0 to retry, 0 failed\n"
    assert row(message_id).status is MessageStatus.SENT
    assert len(server.received) == 1


def test_starttls_on_against_a_server_without_it_waits_with_a_clear_error(world, travel, server):
    (message_id,) = queue(world, "staff@a.example")
    result = send_outbox(settings_for(server, starttls=True))
    assert result.sent == 0 and "STARTTLS extension not supported" in str(result)
    message = row(message_id)
    assert message.status is MessageStatus.QUEUED and "STARTTLS" in message.last_error
    assert server.received == []


@pytest.fixture
def auth_server():
    server = SMTPServer(credentials=("inreach", "s3cret")).start()
    yield server
    server.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_against_a_server_that_requires_it(world, travel, auth_server):
    ok, wrong, missing = queue(world, "staff@a.example", "admin@a.example", "viewer@a.example")
    right = settings_for(auth_server, username="inreach", password="s3cret")
    # a wrong password or none: the server's problem, every message waits
    for settings, expected in (
        (settings_for(auth_server, username="inreach", password="nope"), "535 5.7.8"),
        (settings_for(auth_server), "530 5.7.0"),
    ):
        result = send_outbox(settings)
        assert result.sent == 0 and expected in result.unavailable
        assert {row(i).status for i in (ok, wrong, missing)} == {MessageStatus.QUEUED}
        assert expected in row(ok).last_error
        travel.forward(minutes=3)
    assert suppressed() == []
    assert send_outbox(right).sent == 3
    assert len(auth_server.received) == 3
    assert {r.rcpt_tos[0] for r in auth_server.received} == {
        "staff@a.example",
        "admin@a.example",
        "viewer@a.example",
    }


def test_the_greeting_names_the_test_server(server, settings):
    """The fixture is a real SMTP server: smtplib talks to it like to any other."""
    import smtplib

    with smtplib.SMTP(settings.host, settings.port, timeout=5) as connection:
        code, text = connection.ehlo()
    assert code == 250 and text.decode().startswith(SERVER_NAME)
