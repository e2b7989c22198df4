"""The outbox page: admins of one workspace see its mail, never another's, never an account
email, never a body."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from crm import clock
from crm.extensions import db
from crm.messaging.models import MessageStatus
from crm.messaging.services import queue_message
from crm.roles import Role
from crm.tenancy import workspace_context


def queue(workspace_id: int | None, *, kind: str = "followup_due", **fields):
    values = {
        "kind": kind,
        "idempotency_key": f"{kind}:{uuid.uuid4()}",
        "recipient": "staff@a.example",
        "subject": "A follow-up is due",
        "body": "BODY-TEXT open Inreach",
        **fields,
    }
    if workspace_id is None:
        return queue_message(**values)
    with workspace_context(workspace_id):
        return queue_message(**values)


@pytest.fixture
def mail(app, world):
    """Messages of A and B, and account emails queued from inside A's requests."""
    with app.app_context():
        a = queue(world.a.id, subject="Subject of A", recipient="admin@a.example")
        queue(world.b.id, subject="Subject of B", recipient="admin@b.example")
        with workspace_context(world.a.id):
            invitation = queue(
                None,
                kind="invitation",
                subject="Invitation to Workspace A County on Inreach",
                recipient="invitee@new.example",
                body="Accept: http://127.0.0.1:5000/invitations/SECRET-INVITATION-LINK",
            )
        queue(
            None,
            kind="password_reset",
            subject="Reset your Inreach password",
            recipient="admin@a.example",
            body="Reset: http://127.0.0.1:5000/password/reset/SECRET-RESET-LINK",
        )
        ids = {"a": a.public_id, "invitation": invitation.public_id}
        db.session.commit()  # a savepoint of the test's transaction: the requests see it
        return ids


def test_an_admin_sees_only_this_workspaces_mail(login, world, mail):
    page = login(world.a.admin).get("/outbox/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Subject of A" in html
    assert "Subject of B" not in html and "admin@b.example" not in html
    assert "Invitation to" not in html and "invitee@new.example" not in html
    assert "Reset your Inreach password" not in html
    assert "SECRET-" not in html
    assert "BODY-TEXT" not in html  # no bodies on the list
    assert "until then messages wait here" in html
    assert 'scope="col"' in html and '<label class="form-label" for="status">Status</label>' in html

    other = login(world.b.admin).get("/outbox/").get_data(as_text=True)
    assert "Subject of B" in other and "Subject of A" not in other
    assert "SECRET-" not in other


@pytest.mark.parametrize("role", [Role.STAFF, Role.VIEWER, Role.PARTNER])
def test_only_admins_may_open_the_outbox(login, world, role):
    assert login(world.a.members[role]).get("/outbox/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/outbox/")
    assert response.status_code == 302 and "/login" in response.location


def test_the_nav_links_the_outbox_for_admins_only(login, world):
    assert 'href="/outbox/"' in login(world.a.admin).get("/partners/").get_data(as_text=True)
    assert 'href="/outbox/"' not in login(world.a.staff).get("/partners/").get_data(as_text=True)


def test_the_status_filter(app, login, world):
    with app.app_context(), workspace_context(world.a.id):
        queue(world.a.id, subject="Still waiting")
        sent = queue(world.a.id, subject="Gone out")
        failed = queue(world.a.id, subject="Bounced")
        sent.status = MessageStatus.SENT
        failed.status, failed.attempts = MessageStatus.FAILED, 3
        failed.last_error = "550 5.1.1 mailbox unavailable"
        db.session.commit()
    admin = login(world.a.admin)
    html = admin.get("/outbox/?status=sent").get_data(as_text=True)
    assert "Gone out" in html and "Still waiting" not in html and "Bounced" not in html
    html = admin.get("/outbox/?status=failed").get_data(as_text=True)
    assert "Bounced" in html and "550 5.1.1 mailbox unavailable" in html and "Gone out" not in html
    html = admin.get("/outbox/?status=queued").get_data(as_text=True)
    assert "Still waiting" in html and "Gone out" not in html
    # an unknown status is ignored, not an error
    html = admin.get("/outbox/?status=bogus").get_data(as_text=True)
    assert "Still waiting" in html and "Gone out" in html


def test_times_are_shown_in_the_workspace_time_zone(app, login, world):
    with app.app_context(), clock.frozen(datetime(2026, 3, 10, 15, 0, tzinfo=UTC)):
        queue(world.a.id, subject="At ten in Chicago")  # A is America/Chicago
        db.session.commit()
    html = login(world.a.admin).get("/outbox/").get_data(as_text=True)
    assert "2026-03-10 10:00 CDT" in html


def test_pages(app, login, world, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    with app.app_context():
        for n in range(3):
            with clock.frozen(datetime(2026, 1, 1, 12, n, tzinfo=UTC)):
                queue(world.a.id, subject=f"Message number {n}")
        db.session.commit()
    admin = login(world.a.admin)
    first = admin.get("/outbox/?status=queued").get_data(as_text=True)
    assert "Message number 2" in first and "Message number 1" in first
    assert "Message number 0" not in first
    assert "/outbox/?page=2&amp;status=queued" in first
    second = admin.get("/outbox/?page=2&status=queued").get_data(as_text=True)
    assert "Message number 0" in second and "Message number 2" not in second


def test_the_page_costs_the_same_queries_for_many_rows(app, login, world):
    admin = login(world.a.admin)

    def statements_of_page() -> int:
        statements = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            assert admin.get("/outbox/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    statements_of_page()  # the first request of a login also records the member's activity
    with app.app_context():
        for _ in range(2):
            queue(world.a.id)
        db.session.commit()
    few = statements_of_page()
    with app.app_context():
        for _ in range(20):
            queue(world.a.id)
        db.session.commit()
    assert statements_of_page() == few
