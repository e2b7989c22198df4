"""The outbox's services: decided once, account emails in no workspace, clean headers."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

import crm.messaging.services as services
from crm.extensions import db
from crm.messaging.models import Message, MessageStatus
from crm.messaging.services import (
    OutboxError,
    find_for_operator,
    list_for_operator,
    outbox_page,
    queue_message,
)
from crm.tenancy import NoWorkspaceError, ScopedSession, all_workspaces, workspace_context


def queue(key: str | None = None, kind: str = "followup_due", **overrides) -> Message:
    fields = {
        "kind": kind,
        "idempotency_key": key or f"{kind}:{uuid.uuid4()}",
        "recipient": "staff@a.example",
        "subject": "A follow-up is due",
        "body": "Open Inreach to see it.",
        **overrides,
    }
    return queue_message(**fields)


def rows_with_key(key: str) -> int:
    with all_workspaces():
        return db.session.execute(
            select(func.count(Message.id)).where(Message.idempotency_key == key)
        ).scalar_one()


def test_the_same_key_queues_one_message(app, world):
    with app.app_context(), workspace_context(world.a.id):
        first = queue("followup_due:1:staff@a.example")
        again = queue("followup_due:1:staff@a.example", subject="Something else")
        assert again.id == first.id
        assert again.subject == "A follow-up is due"  # decided once: the first decision stands
        assert rows_with_key("followup_due:1:staff@a.example") == 1


def test_an_account_email_is_decided_once_even_from_a_workspace(app, world):
    with app.app_context():
        first = queue("password_reset:7", kind="password_reset")
        with workspace_context(world.a.id):
            again = queue("password_reset:7", kind="password_reset")
        assert again.id == first.id
        assert rows_with_key("password_reset:7") == 1


def test_a_workspace_message_is_stamped_with_the_current_workspace(app, world):
    with app.app_context(), workspace_context(world.b.id):
        message = queue()
        assert message.workspace_id == world.b.id
        assert message.status is MessageStatus.QUEUED
        assert message.attempts == 0
        assert message.public_id is not None


def test_a_workspace_message_needs_a_workspace(app):
    with app.app_context():
        with pytest.raises(NoWorkspaceError):
            queue()
        with all_workspaces(), pytest.raises(NoWorkspaceError):
            queue()


@pytest.mark.parametrize("kind", ["invitation", "password_reset"])
def test_an_account_email_has_no_workspace_and_no_workspace_sees_it(app, world, kind):
    with app.app_context():
        with workspace_context(world.a.id):  # queued during a request of workspace A
            message = queue(kind=kind, recipient="new@elsewhere.example")
            public_id = message.public_id
        assert message.workspace_id is None
        for side in world.sides():
            with workspace_context(side.id):
                found = db.session.execute(
                    select(Message).where(Message.public_id == public_id)
                ).scalar_one_or_none()
                assert found is None
                assert public_id not in {m.public_id for m in outbox_page().items}
        with all_workspaces():
            found = db.session.execute(
                select(Message).where(Message.public_id == public_id)
            ).scalar_one()
            assert found.kind == kind and found.workspace_id is None


def test_a_key_of_another_workspace_is_refused_not_returned(app, world):
    with app.app_context():
        with workspace_context(world.a.id):
            queue("shared-key")
        with workspace_context(world.b.id), pytest.raises(OutboxError, match="another workspace"):
            queue("shared-key")
        with workspace_context(world.a.id), pytest.raises(OutboxError, match="another workspace"):
            queue("shared-key", kind="invitation")


def test_the_message_is_part_of_the_callers_transaction(app, world):
    with app.app_context(), workspace_context(world.a.id):
        queue("rolled-back")
        assert rows_with_key("rolled-back") == 1
        db.session.rollback()
        assert rows_with_key("rolled-back") == 0


def test_a_key_queued_since_the_lookup_is_absorbed_in_a_savepoint(app, world, monkeypatch):
    """Another transaction commits the same key between our lookup and our INSERT: the unique
    index refuses the row, only the savepoint is lost, and the existing message comes back."""
    with app.app_context(), workspace_context(world.a.id):
        decided = queue("raced")
        before = queue()  # earlier work of the caller's transaction
        real_existing = services._existing
        calls = []

        def lookup_misses_once(key):
            calls.append(key)
            return None if len(calls) == 1 else real_existing(key)

        monkeypatch.setattr(services, "_existing", lookup_misses_once)
        again = queue("raced")
        assert len(calls) == 2  # the INSERT was tried, refused, then the row was looked up
        assert again.id == decided.id
        assert rows_with_key("raced") == 1
        assert rows_with_key(before.idempotency_key) == 1  # the caller's work survived


def test_another_constraint_is_not_mistaken_for_a_duplicate(app, world):
    with app.app_context(), workspace_context(world.a.id):
        with pytest.raises(IntegrityError):
            queue(recipient_user_id=10**9)  # no such user
        queue("after")  # the transaction is still usable
        assert rows_with_key("after") == 1


def test_subjects_and_recipients_stay_on_one_line(app, world):
    with app.app_context(), workspace_context(world.a.id):
        message = queue(subject="Reminder\r\nBcc: everyone@example.com\n  today")
        assert message.subject == "Reminder Bcc: everyone@example.com today"
        assert queue(subject="\u2028x\x85y").subject == "x y"
        with pytest.raises(OutboxError, match="200"):
            queue(subject="x" * 201)
        assert len(queue(subject="x" * 200).subject) == 200
        with pytest.raises(OutboxError, match="subject"):
            queue(subject=" \n ")
        for recipient in ("a@b.example\r\nBcc: c@d.example", "a@b.example c@d", "nobody", ""):
            with pytest.raises(OutboxError, match="recipient"):
                queue(recipient=recipient)
        with pytest.raises(OutboxError, match="idempotency"):
            queue("k" * 201)


def test_the_workspace_page_lists_newest_first_and_filters_by_status(app, world):
    with app.app_context(), workspace_context(world.a.id):
        first, second, third = queue(), queue(), queue()
        third.status = MessageStatus.SENT
        db.session.flush()
        listed = [m.id for m in outbox_page().items]
        assert listed[:3] == [third.id, second.id, first.id]
        assert [m.id for m in outbox_page(MessageStatus.SENT).items] == [third.id]
        two = outbox_page(per_page=2)
        assert len(two.items) == 2 and two.has_next


def test_the_workspace_page_refuses_to_list_every_workspace(app):
    with app.app_context(), all_workspaces(), pytest.raises(NoWorkspaceError):
        outbox_page()


def test_the_operator_finds_any_message(app, world):
    with app.app_context():
        account = queue(kind="password_reset", recipient="someone@x.example")
        with workspace_context(world.b.id):
            in_b = queue()
        assert find_for_operator(str(account.public_id)).id == account.id
        assert find_for_operator(account.public_id).id == account.id
        assert find_for_operator(str(in_b.id)).id == in_b.id
        assert find_for_operator(str(uuid.uuid4())) is None
        assert find_for_operator("not-an-id") is None
        assert find_for_operator("9" * 40) is None
        latest = [m.id for m in list_for_operator(limit=2)]
        assert latest == [in_b.id, account.id]


@pytest.mark.postgres_only
def test_two_transactions_deciding_the_same_email_make_one(app):
    """Two connections: the other transaction inserts the key and holds it uncommitted; ours
    looks, finds nothing, and its INSERT waits on the unique index. The other commits; ours
    fails in its savepoint, finds the committed row and returns it, its transaction intact."""
    key = f"password_reset:race:{uuid.uuid4()}"
    with app.app_context():
        engine = db.engine
        other = engine.connect()
        other_session = ScopedSession(db, bind=other)
        theirs = Message(
            kind="password_reset",
            idempotency_key=key,
            recipient="race@x.example",
            subject="Reset your Inreach password",
            body="theirs",
        )
        other_session.add(theirs)
        other_session.flush()
        theirs_id = theirs.id
        waited = threading.Event()

        def commit_once_ours_waits():
            with engine.connect() as watcher:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    waiting = watcher.exec_driver_sql(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock'"
                    ).scalar_one()
                    watcher.rollback()
                    if waiting:
                        waited.set()
                        break
                    time.sleep(0.02)
            other_session.commit()

        committer = threading.Thread(target=commit_once_ours_waits)
        try:
            committer.start()
            ours = queue_message(
                kind="password_reset",
                idempotency_key=key,
                recipient="race@x.example",
                subject="Reset your Inreach password",
                body="ours",
            )
            committer.join(15)
            assert waited.is_set(), "our INSERT never waited on theirs: the race was not forced"
            assert ours.id == theirs_id and ours.body == "theirs"
            assert rows_with_key(key) == 1  # and our transaction still answers
        finally:
            committer.join(15)
            with all_workspaces():
                other_session.execute(delete(Message).where(Message.idempotency_key == key))
            other_session.commit()
            other_session.close()
            other.close()
