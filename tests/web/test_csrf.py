"""CSRF: every rule that accepts POST (a walk of the URL map, so new routes are covered the day
they appear) refuses a missing or wrong token with a friendly 400, and changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from crm.extensions import db
from crm.tenancy import all_workspaces
from tests.conftest import Client
from tests.web.helpers import rule_urls
from tests.world import PASSWORD

EXPIRED = "The form expired"
# A form that would otherwise pass on most routes: the token alone must make the difference.
FORM = {
    "email": "",
    "password": PASSWORD,
    "current": PASSWORD,
    "confirm": PASSWORD,
    "name": "Changed without a token",
    "role": "viewer",
    "kind": "civic",
    "stage": "active",
}


def snapshot(app) -> dict[str, list]:
    """Every row of every table, as the test's transaction sees it."""
    with app.app_context(), all_workspaces():
        return {
            table.name: sorted(map(repr, db.session.execute(select(table)).all()))
            for table in db.metadata.sorted_tables
        }


def test_every_post_route_refuses_a_missing_or_wrong_token(app, world, login):
    anonymous = Client(app)
    admin = login(world.a.admin)
    another_session = Client(app).csrf()  # a real token, of someone else's session
    form = {**FORM, "email": world.a.admin.email, "workspace": world.b.slug}
    tokens = {
        "no token": {},
        "an empty token": {"csrf_token": ""},
        "a made-up token": {"csrf_token": "IjAxMjM0NTY3ODlhYmNkZWYi.ZZZZZZ.forged"},
        "another session's token": {"csrf_token": another_session},
    }
    before = snapshot(app)
    assert sum(map(len, before.values())) > 10  # the snapshot sees the world's rows
    routes = rule_urls(app, world, "POST")
    problems = []
    for who, client in (("anonymous", anonymous), ("admin", admin)):
        for rule, url in routes:
            for how, token in tokens.items():
                response = client.http.post(url, data={**form, **token})
                label = f"{who} POST {rule.rule} with {how}"
                if response.status_code != 400:
                    problems.append(f"{label}: {response.status_code}")
                elif EXPIRED not in response.get_data(as_text=True):
                    problems.append(f"{label}: the page does not say the form expired")
                elif response.mimetype != "text/html":
                    problems.append(f"{label}: {response.mimetype}")
    assert problems == []
    assert snapshot(app) == before
    assert len(routes) >= 10  # the walk really walked
    # The admin's session went on: the refusals logged nobody out.
    assert admin.http.get("/partners/").status_code == 200


def test_a_json_request_without_a_token_gets_a_json_400(client):
    response = client.http.post("/login", json={"email": "a@example.org", "password": "x"})
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == 400
    assert EXPIRED in response.get_json()["error"]["message"]


def test_the_walk_control_a_valid_token_gets_past_the_check(app, world):
    """Without this, a route answering 400 to everything would pass the walk."""
    client = Client(app)
    response = client.post("/login", {"email": world.a.admin.email, "password": "wrong" * 3})
    assert response.status_code == 401
    logged_in = client.post("/login", {"email": world.a.admin.email, "password": PASSWORD})
    assert logged_in.status_code == 302
    assert client.post("/logout").status_code == 302
