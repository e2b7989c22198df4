"""Error pages for people and JSON errors for programs; neither ever shows a stack trace, SQL or
an exception's own text."""

from __future__ import annotations

import pytest
from flask import Blueprint, abort
from sqlalchemy import text

import crm.web.errors
from crm.extensions import db
from crm.roles import ALL_ROLES
from crm.web.access import allow, public
from tests.conftest import Client, make_test_app
from tests.web.helpers import header_problems

JSON = {"Accept": "application/json"}
SECRET_SQL = "SELECT secret FROM users"
LEAKS = ("SELECT", "secret", "Traceback", "RuntimeError", 'File "', "sqlalchemy", "users")


def json_error(response, status: int) -> str:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["message"]
    return body["error"]["message"]


def html_error(response, status: int) -> str:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert header_problems("error page", response) == []
    return response.get_data(as_text=True)


def test_404_is_a_page_for_people(client, world, login):
    for http in (client.http, login(world.a.admin).http):
        page = html_error(http.get("/no-such-page"), 404)
        assert "There is nothing here" in page
        assert "Back to the start" in page


def test_404_is_json_for_programs(client, world, login):
    for http in (client.http, login(world.a.admin).http):
        assert "nothing here" in json_error(http.get("/no-such-page", headers=JSON), 404)
        assert json_error(http.get("/api/v1/nothing"), 404)  # the API answers JSON unasked
    # A browser's Accept (HTML first, */* last) still gets the page.
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    html_error(client.http.get("/no-such-page", headers=browser), 404)
    html_error(client.http.get("/no-such-page", headers={"Accept": "*/*"}), 404)


def test_403_for_a_role_without_the_right(world, login):
    viewer = login(world.a.viewer).http
    assert "does not allow" in html_error(viewer.get("/partners/new"), 403)
    assert "does not allow" in json_error(viewer.get("/partners/new", headers=JSON), 403)


def test_405_for_a_get_on_a_post_only_route(client, world, login):
    for http in (client.http, login(world.a.admin).http):
        response = http.get("/logout")
        assert "does not accept" in html_error(response, 405)
        assert "POST" in response.headers["Allow"]
        response = http.get("/logout", headers=JSON)
        assert "does not accept" in json_error(response, 405)
        assert "POST" in response.headers["Allow"]


def failing_app(app):
    """A fresh app with routes that fail the ways real code does. TESTING is off, as in
    production, so nothing propagates to the test."""
    failing = Blueprint("failing", __name__)

    @failing.get("/fails/python")
    @public
    def python_error():
        raise RuntimeError(f"could not run {SECRET_SQL} WHERE id = 1")

    @failing.get("/fails/sql")
    @public
    def sql_error():
        db.session.execute(text(SECRET_SQL))  # no such column: the driver quotes the SQL
        return "unreachable"

    @failing.get("/fails/logged-in")
    @allow(*ALL_ROLES)
    def logged_in_error():
        raise RuntimeError(SECRET_SQL)

    @failing.get("/fails/abort")
    @public
    def abort_with_details():
        abort(409, f"conflict in {SECRET_SQL}")

    fresh = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], TESTING=False)
    fresh.register_blueprint(failing)
    return fresh


def assert_no_leak(body: str) -> None:
    for leak in LEAKS:
        assert leak not in body, leak


@pytest.mark.parametrize("path", ["/fails/python", "/fails/sql"])
def test_500_shows_no_traceback_or_sql(app, path):
    http = failing_app(app).test_client()
    page = html_error(http.get(path), 500)
    assert "Something went wrong on our side" in page
    assert_no_leak(page)
    response = http.get(path, headers=JSON)
    assert "went wrong" in json_error(response, 500)
    assert_no_leak(response.get_data(as_text=True))


def test_500_for_a_logged_in_user_keeps_the_layout_and_is_not_stored(app, world):
    fresh = failing_app(app)
    client = Client(fresh).login(world.a.admin)
    response = client.http.get("/fails/logged-in")
    page = html_error(response, 500)
    assert_no_leak(page)
    assert "Log out" in page  # the layout still knows who is logged in
    assert "no-store" in response.headers["Cache-Control"]


def test_an_aborts_own_description_is_not_shown(app):
    http = failing_app(app).test_client()
    assert_no_leak(html_error(http.get("/fails/abort"), 409))
    response = http.get("/fails/abort", headers=JSON)
    json_error(response, 409)
    assert_no_leak(response.get_data(as_text=True))


def test_when_the_error_page_fails_too_a_plain_page_answers(app, monkeypatch):
    http = failing_app(app).test_client()

    def broken(*_args, **_kwargs):
        raise RuntimeError(f"template broke near {SECRET_SQL}")

    monkeypatch.setattr(crm.web.errors, "render_template", broken)
    page = html_error(http.get("/fails/python"), 500)
    assert "Something went wrong on our side" in page
    assert_no_leak(page)
    assert "went wrong" in json_error(http.get("/fails/python", headers=JSON), 500)


def test_a_nul_character_anywhere_is_a_clear_400_on_every_route(app, world, login):
    """PostgreSQL refuses NUL in text; no route may turn one into a 500."""
    from tests.web.helpers import rule_urls

    admin = login(world.a.admin)
    for method in ("GET", "POST"):
        for rule, url in rule_urls(app, world, method):
            if method == "GET":
                response = admin.get(f"{url}?q=a%00b")
            else:
                response = admin.post(url, {"name": "a\x00b", "email": "x\x00@y.example"})
            assert response.status_code == 400, (method, rule.rule, response.status_code)
            assert "invisible NUL character" in response.get_data(as_text=True), rule.rule
