"""Done when: with `make run` (the demo, the embedded scheduler, no SMTP), a demo follow-up that
falls due is in the outbox after the next sweep, with no worker to start: queued, its subject
naming nobody, its body linking to the follow-up and to the notification settings."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

import tasks.embedded
from crm import clock
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.followups.reminders import SUBJECTS
from crm.messaging.models import Message, MessageStatus
from crm.tenancy import ScopedSession, all_workspaces
from tasks.models import JobRun
from tests import tripwire
from tests.conftest import Client, fresh_database_url, make_test_app, worker_name

CHICAGO = ZoneInfo("America/Chicago")
LOADED = datetime(2026, 11, 4, 10, 0, tzinfo=CHICAGO)  # a Wednesday morning
LATER_TODAY = "Send Dr. Raman the cross-training proposal"  # the demo's follow-up due at 16:00


@pytest.fixture
def demo_app(monkeypatch, tmp_path):
    """An app on a migrated database of its own with the demo loaded (as `make run` does),
    SMTP not configured, and a session of its own."""
    app = make_test_app(fresh_database_url(f"journey_{worker_name()}"), BASE_URL="http://inreach")
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    with app.app_context(), tripwire.allowed():
        upgrade()
    monkeypatch.setattr(db, "session", db._make_scoped_session({"class_": ScopedSession}))
    monkeypatch.setattr(tasks.embedded, "_scheduler", None)
    yield app
    if tasks.embedded._scheduler is not None and tasks.embedded._scheduler.running:
        tasks.embedded._scheduler.shutdown(wait=True)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def messages(app) -> list[Message]:
    with app.app_context(), all_workspaces():
        rows = list(db.session.execute(select(Message).order_by(Message.id)).scalars())
        for row in rows:
            db.session.expunge(row)
        return rows


def follow_up_titled(app, title: str) -> FollowUp:
    with app.app_context(), all_workspaces():
        follow_up = db.session.execute(select(FollowUp).where(FollowUp.title == title)).scalar_one()
        db.session.expunge(follow_up)
        return follow_up


def sweep_run(app) -> JobRun | None:
    with app.app_context():
        run = db.session.execute(
            select(JobRun).where(JobRun.name == "followups.sweep")
        ).scalar_one_or_none()
        db.session.rollback()
        return run if run is not None and run.ok else None


def test_a_demo_follow_up_falling_due_reaches_the_outbox_with_no_worker(demo_app):
    cli = demo_app.test_cli_runner()
    with clock.frozen(LOADED) as travel:
        loaded = cli.invoke(args=["demo"])
        assert loaded.exit_code == 0, loaded.output
        logins = dict(re.findall(r"^\s+\w+\s+(\S+@\S+)\s+(\S+)\s", loaded.output, re.M))
        travel.forward(minutes=5)  # the first sweep: what was already due before today
        first = cli.invoke(args=["jobs", "run", "followups.sweep"])
        assert first.exit_code == 0, first.output
        before = {m.id for m in messages(demo_app)}
        assert not any(LATER_TODAY in m.body for m in messages(demo_app))

        # 16:00 comes: within one sweep interval the embedded scheduler (what `inreach run`
        # starts; no worker, no broker) decides it
        travel.forward(seconds=(LOADED.replace(hour=16, minute=3) - clock.now()).total_seconds())
        scheduler = tasks.embedded.start_embedded(demo_app)
        scheduler.modify_job("followups.sweep", next_run_time=datetime.now(UTC))
        deadline = time.monotonic() + 15
        while (run := sweep_run(demo_app)) is None or run.ran_for != clock.now():
            assert time.monotonic() < deadline, "the embedded sweep did not run"
            time.sleep(0.05)
        scheduler.shutdown(wait=True)

    follow_up = follow_up_titled(demo_app, LATER_TODAY)
    link = f"http://inreach/follow-ups/{follow_up.public_id}\n"
    (message,) = [m for m in messages(demo_app) if m.id not in before and link in m.body]
    assert message.status is MessageStatus.QUEUED  # no SMTP configured: it waits here
    assert message.recipient == "dana.reyes@harbor.example"
    assert message.subject == SUBJECTS[1] == "A follow-up is due"
    assert "http://inreach/account/notifications\n" in message.body
    for every in messages(demo_app):  # subjects say what to do, never about whom
        assert every.subject in SUBJECTS.values()
        assert "/account/notifications" in every.body
        assert re.search(r"/follow-ups/[0-9a-f-]{36}\n", every.body)

    with clock.frozen(LOADED.replace(hour=16, minute=4)):
        output = cli.invoke(args=["outbox", "send"]).output
        assert (
            output
            == f"no SMTP configured: {len(messages(demo_app))} message(s) wait in the outbox\n"
        )
        dana = Client(demo_app).login(
            SimpleNamespace(email=message.recipient, password=logins[message.recipient])
        )
        outbox = dana.get("/outbox/").get_data(as_text=True)  # Dana is Harbor's admin
        assert "A follow-up is due" in outbox and "dana.reyes@harbor.example" in outbox
        # the links of the email open
        assert dana.get("/account/notifications").status_code == 200
        assert dana.get(f"/follow-ups/{follow_up.public_id}").status_code == 200
