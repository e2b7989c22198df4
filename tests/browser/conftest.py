"""Browser fixtures: the app served over HTTP on its own database, and Debian's chromium driven
by Playwright.

The live server has a database of its own, committed for real: the per-test transaction of
tests/conftest.py cannot reach a request handled on another thread. `_rollback` stands aside for
every test that names `live_server` in its signature, so every browser test must name it there.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from crm.auth.services import create_user
from crm.extensions import db
from crm.roles import Role
from crm.tenancy import workspace_context
from crm.workspaces.services import add_membership, create_workspace
from tests import tripwire
from tests.conftest import fresh_database_url, make_test_app, missing, worker_name

# INREACH_CHROMIUM=/nonexistent shows what happens on a machine without chromium.
CHROMIUM = os.environ.get("INREACH_CHROMIUM", "/usr/bin/chromium")
# The machine has no network: these keep chromium from trying to reach it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

STAFF_EMAIL = "staff@live.example"
STAFF_PASSWORD = "live server staff password"
WORKSPACE_NAME = "Live Test County"


@dataclass
class LiveServer:
    url: str
    email: str
    password: str
    workspace_name: str
    app: Flask | None = None  # what it serves: its url_map tells which pages exist yet


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    """The app on 127.0.0.1 and a free port, on a fresh migrated database holding one workspace
    and one staff user (STAFF_EMAIL / STAFF_PASSWORD)."""
    database_url = fresh_database_url(f"live_{worker_name()}")
    app = make_test_app(database_url)
    with app.app_context():
        with tripwire.allowed():
            upgrade()
        workspace = create_workspace(WORKSPACE_NAME, "America/Chicago")
        with workspace_context(workspace.id):
            user = create_user(STAFF_EMAIL, STAFF_PASSWORD, name="Live Staff")
            add_membership(user, Role.STAFF)
        db.session.commit()
        db.session.remove()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    live = LiveServer(
        url=f"http://127.0.0.1:{server.server_port}",
        email=STAFF_EMAIL,
        password=STAFF_PASSWORD,
        workspace_name=WORKSPACE_NAME,
        app=app,
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite" and url.database:
            shutil.rmtree(Path(url.database).parent, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, launched once per worker; never a downloaded browser."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError as error:
        missing(f"playwright cannot be imported ({error}): pip install -e '.[test]'")
    expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, live_server: LiveServer):
    """A fresh browser context (no cookies) on the live server: relative URLs go to it.
    Fails the test if the server answered any request with a 5xx or a script raised."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    server_errors: list[str] = []
    script_errors: list[str] = []

    def check(response) -> None:
        if response.status >= 500:
            server_errors.append(f"{response.request.method} {response.url} -> {response.status}")

    page.on("response", check)
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not server_errors, (
        f"the live server failed (its log is in the captured stderr): {server_errors}"
    )
    assert not script_errors, f"a script on the page raised: {script_errors}"
