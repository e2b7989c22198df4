"""The outbox's writes and reads: queue a message with the decision that causes it, list a
workspace's messages, and find any message for the machine's operator.

Every email is decided once: its idempotency key is unique across the whole table, so a job that
runs twice, or two workers at once, queue one message. Account emails (invitations, password
resets) belong to no workspace; the tenancy mechanism leaves them out of every workspace's
queries, so no workspace page can show their links.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from crm.extensions import db
from crm.messaging.models import ACCOUNT_KINDS, Message, MessageStatus
from crm.tenancy import all_workspaces, current_workspace_id
from crm.web.pagination import Page, paginate

KIND_MAX = 40
KEY_MAX = 200
RECIPIENT_MAX = 254
SUBJECT_MAX = 200


class OutboxError(ValueError):
    """A message the code tried to queue is malformed: a bug of the caller, never user input."""


def one_line(value: str) -> str:
    """The text on one line: every run of whitespace, line breaks included, becomes one space.
    A subject or address with a line break could add headers of its own (header injection)."""
    return " ".join((value or "").split())


def _clean_subject(subject: str) -> str:
    subject = one_line(subject)
    if not subject:
        raise OutboxError("a message needs a subject")
    if len(subject) > SUBJECT_MAX:
        raise OutboxError(f"a subject has at most {SUBJECT_MAX} characters")
    return subject


def _clean_recipient(recipient: str) -> str:
    recipient = (recipient or "").strip()
    if (
        not recipient
        or len(recipient) > RECIPIENT_MAX
        or "@" not in recipient
        or any(c.isspace() or not c.isprintable() for c in recipient)
    ):
        raise OutboxError("a message needs one recipient address, on one line")
    return recipient


def _existing(idempotency_key: str) -> Message | None:
    # The key is unique across workspaces and account emails alike, so the lookup is too;
    # queue_message checks the row it finds belongs where the caller is.
    with all_workspaces():
        return db.session.execute(
            select(Message).where(Message.idempotency_key == idempotency_key)
        ).scalar_one_or_none()


def _same_owner(message: Message, workspace_id: int | None) -> Message:
    if message.workspace_id != workspace_id:
        raise OutboxError("this idempotency key belongs to a message of another workspace")
    return message


def queue_message(
    *,
    kind: str,
    idempotency_key: str,
    recipient: str,
    subject: str,
    body: str,
    recipient_user_id: int | None = None,
) -> Message:
    """Queue one email in the current transaction (flushed, never committed), or return the
    message already queued under this idempotency key: each email is decided once.

    Account kinds (invitation, password_reset) belong to no workspace; every other kind
    belongs to the workspace bound now. Subjects say what to do, never whom it is about: no
    names of incarcerated people (RELIABILITY.md).
    """
    message, workspace_id = _new_message(
        kind, idempotency_key, recipient, subject, body, recipient_user_id
    )
    existing = _existing(idempotency_key)
    if existing is not None:
        return _same_owner(existing, workspace_id)
    try:
        # In a savepoint: if another transaction queued the same key since our lookup, the
        # unique index refuses this row and only the savepoint is lost, not the caller's work.
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:
        existing = _existing(idempotency_key)
        if existing is None:
            raise  # another constraint: a bug to see, not a duplicate to absorb
        return _same_owner(existing, workspace_id)
    return message


def _new_message(
    kind: str,
    idempotency_key: str,
    recipient: str,
    subject: str,
    body: str,
    recipient_user_id: int | None,
) -> tuple[Message, int | None]:
    """The message to queue, checked, and the workspace it belongs to (None: an account
    email). Not yet in the session."""
    if not kind or len(kind) > KIND_MAX:
        raise OutboxError(f"a message kind has 1 to {KIND_MAX} characters")
    if not idempotency_key or len(idempotency_key) > KEY_MAX:
        raise OutboxError(f"an idempotency key has 1 to {KEY_MAX} characters")
    recipient, subject = _clean_recipient(recipient), _clean_subject(subject)
    workspace_id = None if kind in ACCOUNT_KINDS else current_workspace_id()
    # workspace_id is left to the tenancy listener: the current workspace, or none for an
    # account email
    message = Message(
        kind=kind,
        idempotency_key=idempotency_key,
        recipient=recipient,
        recipient_user_id=recipient_user_id,
        subject=subject,
        body=body or "",
        status=MessageStatus.QUEUED,
        attempts=0,
        last_error="",
    )
    return message, workspace_id


@dataclass(frozen=True)
class Draft:
    """The arguments of one queue_message call, for add_messages and queue_each."""

    kind: str
    idempotency_key: str
    recipient: str
    subject: str
    body: str
    recipient_user_id: int | None = None


LOOKUP_CHUNK = 500  # keys per lookup query


def existing_messages(keys: Iterable[str]) -> dict[str, Message]:
    """The messages already queued under these idempotency keys, in any workspace or none, by
    key, 500 keys to a query (the usual answer is none). For add_messages."""
    keys = list(dict.fromkeys(keys))
    existing: dict[str, Message] = {}
    with all_workspaces():
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[start : start + LOOKUP_CHUNK]
            existing.update(
                (message.idempotency_key, message)
                for message in db.session.execute(
                    select(Message).where(Message.idempotency_key.in_(chunk))
                ).scalars()
            )
    return existing


def add_messages(drafts: Sequence[Draft], existing: dict[str, Message]) -> list[Message]:
    """Each draft's message: the one `existing` holds under its key (checked to belong where
    the caller is, as queue_message does), else a new one added to the session, not flushed; a
    key repeated among the drafts gives one message.

    Many messages queued at the cost of a few (the reminder sweep's batch), with queue_message's
    guarantees: the caller flushes the new ones in a savepoint and, if the unique index refuses
    one (another transaction queued its key since `existing` was looked up), rolls the savepoint
    back and queues each message alone (queue_each), which absorbs the duplicate, or raises on
    any other constraint: a bug to see."""
    messages: list[Message] = []
    new: dict[str, tuple[Message, int | None]] = {}
    for draft in drafts:
        key = draft.idempotency_key
        message, workspace_id = _new_message(
            draft.kind, key, draft.recipient, draft.subject, draft.body, draft.recipient_user_id
        )
        if key in existing:
            messages.append(_same_owner(existing[key], workspace_id))
        elif key in new:  # twice among the drafts: one message (not stamped with its workspace yet)
            first, owner = new[key]
            if owner != workspace_id:
                raise OutboxError("this idempotency key belongs to a message of another workspace")
            messages.append(first)
        else:
            new[key] = (message, workspace_id)
            messages.append(message)
    db.session.add_all(message for message, _ in new.values())
    return messages


def queue_each(drafts: Sequence[Draft]) -> list[Message]:
    """queue_message for each draft, one savepoint each: the way back after a conflict."""
    return [
        queue_message(
            kind=draft.kind,
            idempotency_key=draft.idempotency_key,
            recipient=draft.recipient,
            subject=draft.subject,
            body=draft.body,
            recipient_user_id=draft.recipient_user_id,
        )
        for draft in drafts
    ]


def outbox_page(status: MessageStatus | None = None, page: int = 1, per_page: int = 50) -> Page:
    """The current workspace's messages, newest first (index (workspace_id, created_at)).

    Account emails have no workspace, so the scoped query never returns them.
    """
    current_workspace_id()  # a workspace page: refuse to list every workspace's mail
    statement = (
        select(Message)
        # bodies are never listed: not loaded, and an attempt to show one fails loudly
        .options(defer(Message.body, raiseload=True))
        .order_by(Message.created_at.desc(), Message.id.desc())
    )
    if status is not None:
        statement = statement.where(Message.status == status)
    return paginate(statement, page, per_page)


def find_for_operator(public_id_or_id: str | int | uuid.UUID) -> Message | None:
    """Any message, account emails included, by public id (or row id): for the operator's CLI,
    never for a request."""
    raw = str(public_id_or_id).strip()
    if raw.isdigit():
        if len(raw) > 18:  # beyond a 64-bit row id
            return None
        condition = Message.id == int(raw)
    else:
        try:
            condition = Message.public_id == uuid.UUID(raw)
        except ValueError:
            return None
    with all_workspaces():
        return db.session.execute(select(Message).where(condition)).scalar_one_or_none()


def list_for_operator(status: MessageStatus | None = None, limit: int = 20) -> list[Message]:
    """The latest messages of every workspace and account, for the operator's CLI."""
    # Newest by row id: the primary key is the index, created_at alone has none.
    statement = select(Message).order_by(Message.id.desc()).limit(limit)
    if status is not None:
        statement = statement.where(Message.status == status)
    with all_workspaces():
        return list(db.session.execute(statement).scalars())
