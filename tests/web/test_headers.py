"""Security headers and cookies on every page (a walk of the GET rules), HTTPS in production
only, ProxyFix only when configured, and templates that work under the CSP."""

from __future__ import annotations

import re

from flask import Blueprint, request
from werkzeug.middleware.proxy_fix import ProxyFix

from crm.web.access import public
from tests.conftest import Client, make_test_app
from tests.web.helpers import INLINE, STATIC_FILES, header_problems, no_store, rule_urls
from tests.world import PASSWORD


def test_every_page_carries_the_security_headers(app, world, login):
    """Every GET rule, as anonymous and as a logged-in admin: the headers are on each answer,
    logged-in answers are never stored, and no page holds what the CSP would block."""
    problems: list[str] = []
    html_pages = 0
    rules = rule_urls(app, world, "GET")
    for who, client in (("anonymous", Client(app)), ("admin", login(world.a.admin))):
        for rule, url in rules:
            response = client.http.get(url)
            label = f"{who} GET {rule.rule} ({response.status_code})"
            problems += header_problems(label, response)
            if who == "admin" and not no_store(response):
                problems.append(f"{label}: no Cache-Control: no-store")
            if response.mimetype == "text/html":
                html_pages += 1
                inline = INLINE.search(response.get_data(as_text=True))
                if inline:
                    problems.append(f"{label}: blocked by the CSP: {inline.group(0)[:80]}")
    assert problems == []
    # the walk really walked: all but a few JSON and CSV routes answer HTML, to both visitors
    assert len(rules) >= 10 and html_pages >= 2 * len(rules) - 6


def test_the_pages_of_a_record_work_under_the_csp(app, world, login):
    """The walk's admin sees records; a partner's own organization page too (show.html once
    had inline styles)."""
    for member in (world.a.admin, world.a.partner):
        client = login(member)
        for rule, url in rule_urls(app, world, "GET"):
            if "<" not in rule.rule or "uuid" not in rule.rule:
                continue
            response = client.http.get(url)
            if response.status_code == 200:
                assert not INLINE.search(response.get_data(as_text=True)), url


def test_the_login_page_and_one_time_link_pages_are_never_stored(client):
    response = client.http.get("/login")
    assert response.status_code == 200
    assert no_store(response)
    assert response.headers.get("Pragma") == "no-cache"
    for url in ("/password/reset/no-such-link", "/invitations/no-such-link"):
        assert no_store(client.http.get(url)), url
    assert not no_store(client.http.get("/password/forgot"))  # nothing personal on it


def test_static_files_carry_the_headers_and_stay_cacheable(client, world, login):
    for http in (client.http, login(world.a.admin).http):
        for url in STATIC_FILES:
            response = http.get(url)
            assert response.status_code == 200, url
            assert response.mimetype == "text/css"
            assert header_problems(url, response) == []
            assert not no_store(response)
            response.close()


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_the_session_cookie_is_httponly_and_samesite_lax_and_not_secure_in_tests(app, world):
    client = Client(app)
    page = client.http.get("/login")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
    logged_in = client.http.post(
        "/login",
        data={"email": world.a.admin.email, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert logged_in.status_code == 302
    for response in (page, logged_in):
        cookie = session_cookie(response)
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie
        assert "Strict-Transport-Security" not in response.headers


def test_tests_and_development_speak_plain_http(app, world, login):
    assert login(world.a.admin).http.get("/partners/").status_code == 200
    assert Client(app).http.get("/login").status_code == 200  # no redirect to https
    development = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], ENV_NAME="development")
    response = development.test_client().get("/login")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in session_cookie(response)


def production_app(app, **overrides):
    return make_test_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        **{"ENV_NAME": "production", "SECRET_KEY": "x" * 32, **overrides},
    )


def check_https_everywhere(app, world):
    http = app.test_client()
    redirected = http.get("/login?next=/partners/")
    assert redirected.status_code in (301, 302)
    assert redirected.location == "https://localhost/login?next=/partners/"

    https = app.test_client()
    page = https.get("/login", base_url="https://localhost")
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(page.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 31536000
    assert header_problems("production /login", page) == [
        "production /login: HSTS outside production"
    ]
    cookie = session_cookie(page)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
    logged_in = https.post(
        "/login",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},  # as the browser sends it
        data={"email": world.a.admin.email, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert logged_in.status_code == 302, logged_in.get_data(as_text=True)[:300]
    assert "Secure" in session_cookie(logged_in)
    assert "Strict-Transport-Security" in logged_in.headers


def test_production_forces_https_with_hsts_and_secure_cookies(app, world):
    production = production_app(app)
    assert production.config["SESSION_COOKIE_SECURE"] is True
    check_https_everywhere(production, world)


def test_force_https_turns_it_on_outside_production(app, world):
    forced = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], FORCE_HTTPS=True)
    check_https_everywhere(forced, world)


def _echo_app(app, **overrides):
    echo = Blueprint("echo", __name__)

    @echo.get("/echo-client")
    @public
    def client_seen():
        return f"{request.remote_addr} {request.scheme}"

    fresh = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], **overrides)
    fresh.register_blueprint(echo)
    return fresh


FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def test_forwarded_headers_are_ignored_without_proxy_fix(app):
    direct = _echo_app(app)
    assert not isinstance(direct.wsgi_app, ProxyFix)
    response = direct.test_client().get("/echo-client", headers=FORWARDED)
    assert response.get_data(as_text=True) == "127.0.0.1 http"


def test_proxy_fix_trusts_the_configured_number_of_proxies(app):
    proxied = _echo_app(app, PROXY_FIX=1)
    assert isinstance(proxied.wsgi_app, ProxyFix)
    response = proxied.test_client().get("/echo-client", headers=FORWARDED)
    assert response.get_data(as_text=True) == "203.0.113.9 https"
    # One proxy: only the address it appended counts, not one the client sent before it.
    spoofed = {**FORWARDED, "X-Forwarded-For": "10.0.0.1, 203.0.113.9"}
    response = proxied.test_client().get("/echo-client", headers=spoofed)
    assert response.get_data(as_text=True).split()[0] == "203.0.113.9"


def test_proxy_fix_setting_comes_from_the_environment():
    from config import load_config

    assert load_config("production", {"INREACH_PROXY_FIX": "2"})["PROXY_FIX"] == 2
    assert load_config("development", {})["PROXY_FIX"] == 0
    assert load_config("development", {"INREACH_FORCE_HTTPS": "1"})["FORCE_HTTPS"] is True
