"""GET /healthz: the database, the broker when Celery is configured, and the sweep's lag."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete

import crm.followups.reminders
from crm import clock
from crm.extensions import db
from crm.tenancy import ScopedSession
from tasks.models import JobRun
from tasks.runner import run_job
from tests.conftest import make_test_app, missing

T = datetime(2026, 11, 6, 15, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_runs_yet(app):
    with app.app_context():
        db.session.execute(delete(JobRun))
        db.session.commit()


def sweep_at(app, moment: datetime) -> None:
    with app.app_context(), clock.frozen(moment):
        run_job("followups.sweep")


def health(client, at: datetime | None = None):
    if at is None:
        response = client.get("/healthz")
    else:
        with clock.frozen(at):
            response = client.get("/healthz")
    assert response.mimetype == "application/json"
    return response.status_code, response.get_json()


def test_ok_before_any_sweep(client):
    assert health(client) == (
        200,
        {
            "status": "ok",
            "database": "ok",
            "scheduler": "off",
            "last_sweep": None,
            "last_sweep_ok": None,
        },
    )


def test_the_last_sweep_and_its_lag(app, client):
    sweep_at(app, T)
    status, body = health(client, at=T.replace(minute=7))
    assert status == 200
    assert body["last_sweep"] == "2026-11-06T15:05:00+00:00"
    assert (body["sweep_lag_seconds"], body["sweep_late"], body["last_sweep_ok"]) == (
        120,
        False,
        True,
    )
    # three sweep intervals without a sweep: late (still 200: the web process can serve)
    status, body = health(client, at=T.replace(minute=21))
    assert status == 200
    assert (body["sweep_lag_seconds"], body["sweep_late"]) == (960, True)


def test_a_failing_sweep_shows_as_late_not_as_never_run(app, client, monkeypatch):
    sweep_at(app, T)

    def broken(now):
        raise RuntimeError("boom")

    monkeypatch.setattr(crm.followups.reminders, "run_sweep", broken)
    for minutes in (10, 15, 20):
        with pytest.raises(RuntimeError):
            sweep_at(app, T.replace(minute=5 + minutes))
    status, body = health(client, at=T.replace(minute=26))
    assert status == 200
    assert body["last_sweep"] == "2026-11-06T15:05:00+00:00"
    assert (body["last_sweep_ok"], body["sweep_late"]) == (False, True)


def test_healthz_is_public_and_names_nothing(client, world):
    text = client.get("/healthz").get_data(as_text=True)
    assert world.a.name not in text and "@" not in text


@pytest.fixture
def other_app(monkeypatch, tmp_path):
    """make(uri, **config): an app of its own with a session of its own (the per-test
    transaction is bound to the main test database)."""
    made = []
    monkeypatch.setattr(db, "session", db._make_scoped_session({"class_": ScopedSession}))

    def make(uri: str, **config):
        other = make_test_app(uri, **config)
        monkeypatch.setattr(other, "instance_path", str(tmp_path))
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql+psycopg://inreach:inreach@127.0.0.1:1/inreach_nowhere",
        "sqlite:///{tmp}/no-such-folder/inreach.db",
    ],
    ids=["postgresql-port-closed", "sqlite-path-unreadable"],
)
def test_503_when_the_database_is_unreachable(other_app, tmp_path, uri):
    unreachable = other_app(uri.format(tmp=tmp_path))
    status, body = health(unreachable.test_client())
    assert status == 503
    assert body["status"] == "failing"
    assert body["database"] == "error: OperationalError"
    assert "last_sweep" not in body


@pytest.fixture
def restore_celery():
    """`create_app` with the celery scheduler makes its Celery app the process's default:
    put the previous one back, so no later test sends to this test's broker."""
    from celery import _state

    default, current = _state.default_app, getattr(_state._tls, "current_app", None)
    yield
    _state.default_app = default
    _state._tls.current_app = current


def test_503_when_the_broker_is_unreachable(other_app, app, restore_celery):
    celery_app = other_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        SCHEDULER="celery",
        BROKER_URL="redis://127.0.0.1:1/0",
    )
    status, body = health(celery_app.test_client())
    assert status == 503
    assert body["database"] == "ok"
    assert body["broker"].startswith("error: ")


def test_broker_ok_when_redis_answers(other_app, app, restore_celery):
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        missing("TEST_REDIS_URL is not set (a Redis server, e.g. redis://127.0.0.1:6379/15)")
    celery_app = other_app(
        app.config["SQLALCHEMY_DATABASE_URI"], SCHEDULER="celery", BROKER_URL=url
    )
    status, body = health(celery_app.test_client())
    assert (status, body["broker"], body["database"]) == (200, "ok", "ok")
