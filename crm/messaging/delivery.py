"""Delivering the outbox over SMTP: claim with a lease, send with a fixed Message-ID, record.

A sender claims queued messages (status `sending`, `claimed_at`) and commits the claim before it
speaks SMTP, so a second sender skips them. A claim older than the lease is taken over: a sender
killed mid-send loses nothing, and a message it had already handed to the server goes again
with the same Message-ID (RFC 5321 makes exactly-once impossible; a repeat is recognisable).

What an answer means:
- the server cannot be reached, or refuses us before any recipient (connection, STARTTLS, login,
  MAIL FROM): nothing is wrong with the messages. They wait in the queue without losing an
  attempt, and the run stops; they go out when the server is back, however long that takes.
- a temporary answer to a message (4xx, a connection lost mid-message): tried again with
  exponential backoff and jitter, and failed after MAX_ATTEMPTS.
- a permanent answer (5xx): failed, never retried, and the address suppressed (globally) unless
  the answer's enhanced status code says the refusal is not about the address (X.3 mail system,
  X.5 protocol, X.6 content, X.7 policy: "relay access denied" must not suppress everyone).
"""

from __future__ import annotations

import random
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from crm import clock
from crm.auth.models import SuppressedAddress
from crm.database import write_intent
from crm.extensions import db
from crm.messaging.models import Message, MessageStatus
from crm.tenancy import all_workspaces

LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=2)
ERROR_MAX = 2000
SUPPRESSED = "not sent: the address bounced before and is suppressed"
# Enhanced status code classes (RFC 3463) of refusals that are not about the address.
NOT_ABOUT_THE_ADDRESS = frozenset({"3", "5", "6", "7"})
_ENHANCED_CODE = re.compile(r"^\s*([245])\.(\d{1,3})\.\d{1,3}\b")


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = None
    sender: str = "Inreach <no-reply@localhost>"
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config) -> MailSettings | None:
        if not config.get("MAIL_HOST"):
            return None
        return cls(
            host=config["MAIL_HOST"],
            port=int(config.get("MAIL_PORT") or 587),
            starttls=_flag(config.get("MAIL_STARTTLS", True)),
            username=config.get("MAIL_USERNAME") or None,
            password=config.get("MAIL_PASSWORD") or None,
            sender=config.get("MAIL_FROM") or cls.sender,
        )

    @property
    def domain(self) -> str:
        address = parseaddr(self.sender)[1]
        return address.rpartition("@")[2] or "localhost"


def _flag(value) -> bool:
    """A setting given as a string ("false", "0") means what it says, not bool("false")."""
    if isinstance(value, str):
        return value.strip().lower() not in {"", "0", "false", "no", "off"}
    return bool(value)


@dataclass
class SendResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0  # queued with no SMTP configured
    configured: bool = True
    unavailable: str = ""  # why the server could not be used; the run stopped there

    def __str__(self) -> str:
        if not self.configured:
            return f"no SMTP configured: {self.waiting} message(s) wait in the outbox"
        summary = f"{self.sent} sent, {self.retried} to retry, {self.failed} failed"
        if self.unavailable:
            summary += f"; SMTP unavailable, mail waits in the outbox: {self.unavailable}"
        return summary


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes (capped at 2 hours), with up to 20 % jitter so retries spread."""
    delay = min(BASE_DELAY * (2 ** max(attempts - 1, 0)), MAX_DELAY)
    return delay * (1 + random.uniform(0, 0.2))


def claim(now: datetime, batch_size: int = 50, lease: timedelta = LEASE) -> list[int]:
    """Take up to `batch_size` messages to send (queued and due, or with a stale lease)."""
    due = or_(
        (Message.status == MessageStatus.QUEUED) & (Message.next_attempt_at <= now),
        (Message.status == MessageStatus.SENDING) & (Message.claimed_at < now - lease),
    )
    statement = select(Message.id).where(due).order_by(Message.next_attempt_at).limit(batch_size)
    token = write_intent.set(True)  # SQLite: BEGIN IMMEDIATE, two senders queue for the lock
    try:
        with all_workspaces():
            if db.session.get_bind().dialect.name == "postgresql":
                statement = statement.with_for_update(skip_locked=True)
            ids = list(db.session.execute(statement).scalars())
            if ids:
                db.session.execute(
                    update(Message)
                    .where(Message.id.in_(ids))
                    .values(
                        status=MessageStatus.SENDING, claimed_at=now, attempts=Message.attempts + 1
                    ),
                    execution_options={"synchronize_session": False},
                )
            db.session.commit()
    finally:
        write_intent.reset(token)
    return ids


def build_email(message: Message, settings: MailSettings) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id(settings.domain)
    email["Date"] = format_datetime(message.created_at)
    email.set_content(message.body)
    return email


def _connect(settings: MailSettings) -> smtplib.SMTP:
    connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        # EHLO here, not inside send_message: a refused greeting is the server's problem, and
        # must never be read as a refusal of the first message's recipient
        connection.ehlo_or_helo_if_needed()
        if settings.starttls:
            connection.starttls(context=ssl.create_default_context())
            connection.ehlo()
        if settings.username:
            connection.login(settings.username, settings.password or "")
    except BaseException:
        connection.close()
        raise
    return connection


def _write(statement) -> None:
    """One committed write of the sender's bookkeeping, in a transaction of its own."""
    token = write_intent.set(True)  # SQLite: take the write lock up front, never upgrade
    try:
        with all_workspaces():
            db.session.execute(statement, execution_options={"synchronize_session": False})
            db.session.commit()
    finally:
        write_intent.reset(token)


def _record(message_id: int, **values) -> None:
    _write(update(Message).where(Message.id == message_id).values(**values))


def _retry_or_fail(message: Message, error: str, now: datetime, result: SendResult) -> None:
    if message.attempts >= MAX_ATTEMPTS:
        _record(message.id, status=MessageStatus.FAILED, last_error=error[:ERROR_MAX])
        result.failed += 1
    else:
        _record(
            message.id,
            status=MessageStatus.QUEUED,
            last_error=error[:ERROR_MAX],
            next_attempt_at=now + backoff(message.attempts),
            claimed_at=None,
        )
        result.retried += 1


def _put_back(messages: list[Message], error: str | None, next_attempt_at: datetime) -> None:
    """Back to the queue without spending an attempt: they were never offered to the server."""
    if not messages:
        return
    values = {
        "status": MessageStatus.QUEUED,
        "attempts": Message.attempts - 1,  # undo the claim's count
        "claimed_at": None,
        "next_attempt_at": next_attempt_at,
    }
    if error is not None:
        values["last_error"] = error[:ERROR_MAX]
    _write(
        update(Message)
        .where(Message.id.in_([m.id for m in messages]), Message.status == MessageStatus.SENDING)
        .values(**values)
    )


def _fail_and_suppress(message: Message, error: str) -> None:
    """The message failed and its address is suppressed: one transaction, so a crash between
    the two cannot leave a bounced address unsuppressed."""
    token = write_intent.set(True)
    try:
        with all_workspaces():
            db.session.execute(
                update(Message)
                .where(Message.id == message.id)
                .values(status=MessageStatus.FAILED, last_error=error[:ERROR_MAX]),
                execution_options={"synchronize_session": False},
            )
            address = message.recipient.lower()
            known = db.session.execute(
                select(SuppressedAddress.id).where(SuppressedAddress.email == address)
            ).first()
            if known is None:
                try:
                    with db.session.begin_nested():  # another sender may suppress it first
                        db.session.add(SuppressedAddress(email=address, reason=error[:500]))
                except IntegrityError:
                    pass
            db.session.commit()
    finally:
        write_intent.reset(token)


def _about_the_address(text: str) -> bool:
    match = _ENHANCED_CODE.match(text)
    return match is None or match.group(2)[0] not in NOT_ABOUT_THE_ADDRESS


def _answered(message, code: int, text, now, result: SendResult, suppressed: set[str]) -> None:
    """The server refused this message (at RCPT or DATA) with `code`."""
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    error = f"{code} {text}"
    if 500 <= code < 600:
        if _about_the_address(text):
            _fail_and_suppress(message, error)
            suppressed.add(message.recipient.lower())
        else:
            _record(message.id, status=MessageStatus.FAILED, last_error=error[:ERROR_MAX])
        result.failed += 1
    else:
        _retry_or_fail(message, error, now, result)


def is_suppressed(address: str) -> bool:
    """Whether mail to `address` bounced for good: nothing is sent to it any more."""
    return (
        db.session.execute(
            select(SuppressedAddress.id).where(SuppressedAddress.email == address.lower())
        ).first()
        is not None
    )


def _suppressed_among(messages: list[Message]) -> set[str]:
    addresses = {m.recipient.lower() for m in messages}
    return set(
        db.session.execute(
            select(SuppressedAddress.email).where(SuppressedAddress.email.in_(addresses))
        ).scalars()
    )


def send_outbox(
    settings: MailSettings | None,
    now: datetime | None = None,
    batch_size: int = 50,
    after_send=None,
) -> SendResult:
    """Send what is due. `after_send(message_id)` is a hook for fault-injection tests: it runs
    after the server accepted a message and before the result is committed."""
    now = now or clock.now()
    result = SendResult()
    if settings is None:
        result.configured = False
        with all_workspaces():
            result.waiting = db.session.execute(
                select(db.func.count(Message.id)).where(Message.status == MessageStatus.QUEUED)
            ).scalar_one()
            db.session.rollback()
        return result
    while not result.unavailable:
        ids = claim(now, batch_size)
        if not ids:
            break
        _send_batch(ids, settings, now, result, after_send)
    return result


def _send_batch(ids, settings, now, result: SendResult, after_send) -> None:
    with all_workspaces():
        messages = list(
            db.session.execute(
                select(Message).where(Message.id.in_(ids)).order_by(Message.id)
            ).scalars()
        )
        suppressed = _suppressed_among(messages)
        for message in messages:
            db.session.expunge(message)  # plain values from here on; each result commits alone
        db.session.rollback()  # no read transaction held open while SMTP talks
    connection = None
    position = 0
    try:
        for position, message in enumerate(messages):
            if message.recipient.lower() in suppressed:
                _record(message.id, status=MessageStatus.FAILED, last_error=SUPPRESSED)
                result.failed += 1
                continue
            try:
                email = build_email(message, settings)
            except (ValueError, TypeError) as error:  # a header no server will take: never
                _record(
                    message.id,
                    status=MessageStatus.FAILED,
                    last_error=f"cannot be sent: {error}"[:ERROR_MAX],
                )
                result.failed += 1
                continue
            if connection is None:
                try:
                    connection = _connect(settings)
                except (smtplib.SMTPException, OSError) as error:
                    _server_unavailable(messages[position:], _describe(error), now, result)
                    return
            try:
                connection.send_message(email)
            except smtplib.SMTPSenderRefused as error:
                # our sender address or the relay's rules: the same for every message
                connection = _drop(connection)
                _server_unavailable(messages[position:], _describe(error), now, result)
                return
            except smtplib.SMTPRecipientsRefused as error:
                code, text = next(iter(error.recipients.values()))
                _answered(message, code, text, now, result, suppressed)
            except smtplib.SMTPResponseException as error:  # DATA refused
                _answered(message, error.smtp_code, error.smtp_error, now, result, suppressed)
            except (smtplib.SMTPException, OSError) as error:  # lost mid-message, timeout
                connection = _drop(connection)
                _retry_or_fail(message, f"SMTP connection lost: {error}", now, result)
            else:
                if after_send is not None:
                    after_send(message.id)
                _record(message.id, status=MessageStatus.SENT, sent_at=clock.now(), last_error="")
                result.sent += 1
            if connection is not None and connection.sock is None:  # 421: the server hung up
                connection = None
        position = len(messages)
    except BaseException:
        # An unexpected error (or a fault a test injects): the message in hand keeps its lease
        # (the server may have accepted it), the ones not yet offered go back at once.
        try:
            _put_back(messages[position + 1 :], None, now)
        except Exception:  # the database may be the problem: the leases expire anyway
            db.session.rollback()
        raise
    finally:
        _drop(connection)


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{error.smtp_code} {text}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _server_unavailable(messages, error: str, now: datetime, result: SendResult) -> None:
    """The server, not a recipient, is the problem: the rest of the batch waits in the queue,
    and the run stops (one connection attempt per run, not one per batch)."""
    _put_back(messages, f"SMTP unavailable: {error}", now + backoff(1))
    result.retried += len(messages)
    result.unavailable = error


def _drop(connection):
    if connection is not None:
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()
    return None


def run_send(now: datetime) -> str:
    """The periodic job (tasks/schedule.py)."""
    from flask import current_app

    from tasks.faults import hook

    settings = MailSettings.from_config(current_app.config)
    return str(send_outbox(settings, now, after_send=hook("outbox.accepted")))
