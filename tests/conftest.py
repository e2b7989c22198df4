"""Fixtures: one migrated database per test worker, each test in a rolled-back transaction,
two workspaces with a user of every role in each, and clients that log in."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask_migrate import upgrade
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

import crm.auth.passwords
from crm import create_app
from crm.extensions import db, limiter
from crm.tenancy import ScopedSession, workspace_tables
from tests import tripwire
from tests.world import World, build_world

IN_CI = bool(os.environ.get("CI"))
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
ON_POSTGRES = bool(TEST_DATABASE_URL)


def missing(reason: str):
    """A test that cannot run here: skipped with the reason on a laptop, a failure in CI."""
    if IN_CI:
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests are deselected on SQLite (not skipped: they do not apply)."""
    if ON_POSTGRES:
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("postgres_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def worker_name() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


_made: list[str] = []  # databases and folders this process made, removed when it ends


def _admin_engine():
    url = make_url(TEST_DATABASE_URL)
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def fresh_database_url(suffix: str) -> str:
    """An empty database of the kind under test, private to this process (two test runs on
    one PostgreSQL server never drop each other's databases)."""
    if not TEST_DATABASE_URL:
        folder = tempfile.mkdtemp(prefix="inreach-test-")
        _made.append(folder)
        return f"sqlite:///{Path(folder) / f'{suffix}.db'}"
    url = make_url(TEST_DATABASE_URL)
    name = f"{url.database}_{suffix}_{os.getpid()}".lower()
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    _made.append(name)
    return url.set(database=name).render_as_string(hide_password=False)


def pytest_sessionfinish(session, exitstatus):
    if not _made:
        return
    if TEST_DATABASE_URL:
        admin = _admin_engine()
        with admin.connect() as connection:
            for name in _made:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    else:
        for folder in _made:
            shutil.rmtree(folder, ignore_errors=True)


# Argon2 at its production cost makes every login a tenth of a second; the tests check our
# use of the hasher, not its cost. check_needs_rehash sees these parameters as current.
crm.auth.passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def make_test_app(database_url: str, **overrides):
    config = {"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, **overrides}
    return create_app(config)


@pytest.fixture(scope="session")
def app():
    app = make_test_app(fresh_database_url(f"w_{worker_name()}"))
    with app.app_context():
        with tripwire.allowed():
            upgrade()
        tripwire.install(db.engine, workspace_tables(db.metadata))
    return app


@pytest.fixture(scope="session")
def world(app) -> World:
    """Two workspaces, a user of each role in each, committed once for the whole session."""
    with app.app_context():
        built = build_world()
        db.session.commit()
        db.session.remove()
    return built


@pytest.fixture(autouse=True)
def _rollback(request, app):
    """Each test in a transaction rolled back at its end; views' commits are savepoints."""
    if "live_server" in request.fixturenames:
        yield
        return
    request.getfixturevalue("world")
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
    original = db.session
    db.session = db._make_scoped_session(
        {"class_": ScopedSession, "bind": connection, "join_transaction_mode": "create_savepoint"}
    )
    tripwire.violations.clear()
    limiter.reset()
    try:
        yield
    finally:
        db.session = original  # sessions end with their app contexts
        transaction.rollback()
        connection.close()
    assert not tripwire.violations, tripwire.violations


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Client:
    """A test client that knows the CSRF token of its session, as a browser would."""

    def __init__(self, app):
        self.http = app.test_client()

    def csrf(self) -> str:
        page = self.http.get("/login")
        if page.status_code == 302:  # logged in: any page carries the token
            page = self.http.get("/partners/")
        return CSRF_META.search(page.get_data(as_text=True)).group(1)

    def get(self, url, **kwargs):
        return self.http.get(url, **kwargs)

    def post(self, url, data=None, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf())
        return self.http.post(url, data=data, **kwargs)

    def login(self, member) -> Client:
        response = self.post("/login", {"email": member.email, "password": member.password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return self


@pytest.fixture
def client(app) -> Client:
    return Client(app)


@pytest.fixture
def login(app):
    """login(member) -> a client logged in as that member."""

    def _login(member) -> Client:
        return Client(app).login(member)

    return _login
