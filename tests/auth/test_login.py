"""Logging in and out, and switching between the workspaces one login belongs to: what a person
sees, and what an attacker cannot learn or reuse."""

from __future__ import annotations

import html
import re

import pytest

from crm.auth.services import create_user
from crm.extensions import db
from crm.roles import Role
from crm.tenancy import workspace_context
from crm.workspaces.services import add_membership
from tests.conftest import Client
from tests.world import PASSWORD

LOGIN_FAILED = "The email or password is not right."


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def current_workspace(response) -> str:
    """The workspace the page header names as the current one."""
    body = response.get_data(as_text=True)
    switcher = re.search(r'<select id="workspace-select".*?</select>', body, re.S)
    if switcher:
        match = re.search(r'<option value="[^"]*" selected>([^<]*)</option>', switcher.group(0))
    else:
        match = re.search(r'id="current-workspace">([^<]*)<', body)
    assert match, "the header names no workspace"
    return html.unescape(match.group(1)).strip()


def listed(response) -> list[str]:
    return re.findall(r'<td><a href="/partners/[^"]+">([^<]*)</a>', response.get_data(as_text=True))


def post_login(client: Client, email: str, password: str, url: str = "/login"):
    return client.post(url, {"email": email, "password": password})


# --- logging in -------------------------------------------------------------------------------


def test_the_right_password_logs_in_to_the_workspace(app, world):
    client = Client(app)
    response = post_login(client, world.a.staff.email, world.a.staff.password)
    assert response.status_code == 302
    page = client.get(response.location, follow_redirects=True)
    assert page.status_code == 200
    assert current_workspace(page) == world.a.name
    assert '<h1 class="h3 mb-0">My follow-ups</h1>' in page.get_data(as_text=True)
    assert listed(client.get("/partners/")) == ["A Other Org Y", "A Partner Org X"]


def test_the_email_may_be_typed_in_any_case_and_with_spaces(app, world):
    response = post_login(Client(app), "  Staff@A.Example ", world.a.staff.password)
    assert response.status_code == 302


def answer_without(response, *typed: str) -> str:
    """The page with what differs by nature removed: the CSRF token and the email typed."""
    body = response.get_data(as_text=True)
    body = re.sub(
        r'(name="csrf-token" content|name="csrf_token" type="hidden" value)="[^"]*"', r'\1=""', body
    )
    for value in typed:
        body = body.replace(value, "")
    return body


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(app, world):
    """Nothing tells whether an account exists for an email."""
    wrong = post_login(Client(app), world.a.staff.email, "not the password at all")
    unknown = post_login(Client(app), "nobody@nowhere.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert LOGIN_FAILED in text_of(wrong) and LOGIN_FAILED in text_of(unknown)
    assert answer_without(wrong, world.a.staff.email) == answer_without(
        unknown, "nobody@nowhere.example"
    )
    # the typed password is never sent back in the page
    assert "not the password at all" not in wrong.get_data(as_text=True)


def test_a_failed_login_opens_no_session(app, world):
    client = Client(app)
    post_login(client, world.a.staff.email, "not the password at all")
    response = client.get("/partners/")
    assert response.status_code == 302 and "/login" in response.location


def test_a_nul_character_in_the_email_is_a_clear_error_not_a_500(app, world):
    response = post_login(Client(app), "staff\x00@a.example", world.a.staff.password)
    assert response.status_code == 400
    assert "invisible NUL character" in text_of(response)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "https:/evil.example/",
        "javascript:alert(1)",
    ],
)
def test_a_next_to_another_site_is_not_followed(app, world, target):
    client = Client(app)
    response = client.post(
        "/login",
        {"email": world.a.staff.email, "password": world.a.staff.password},
        query_string={"next": target},
    )
    assert response.status_code == 302
    assert "evil" not in response.location and "javascript" not in response.location
    assert response.location == "/"


def test_a_next_on_this_site_is_followed(app, world):
    """The control of the test above: a link into the app survives the login."""
    client = Client(app)
    response = client.post(
        "/login",
        {"email": world.a.staff.email, "password": world.a.staff.password},
        query_string={"next": "/partners/?q=a+other"},
    )
    assert response.location == "/partners/?q=a+other"
    assert listed(client.get(response.location)) == ["A Other Org Y"]


def test_a_page_asked_for_before_login_is_shown_after_it(app, world):
    client = Client(app)
    asked = client.get("/partners/new")
    assert asked.status_code == 302 and "/login" in asked.location
    response = post_login(client, world.a.staff.email, world.a.staff.password, asked.location)
    assert response.location == "/partners/new"
    assert "Add an organization" in text_of(client.get(response.location))


# --- switching workspace ----------------------------------------------------------------------


@pytest.fixture
def two_workspaces(app, world):
    """A person who works with both counties: staff in A, viewer in B."""
    email = "both@counties.example"
    with app.app_context():
        user = create_user(email, PASSWORD, name="Both Counties")
        with workspace_context(world.a.id):
            add_membership(user, Role.STAFF)
        with workspace_context(world.b.id):
            add_membership(user, Role.VIEWER)
        db.session.commit()
    return email


def test_a_member_of_two_workspaces_switches_between_them(app, world, two_workspaces):
    client = Client(app)
    assert post_login(client, two_workspaces, PASSWORD).status_code == 302
    page = client.get("/partners/")
    assert current_workspace(page) == world.a.name  # the first by name
    assert listed(page) == ["A Other Org Y", "A Partner Org X"]
    assert client.get("/partners/new").status_code == 200  # staff in A

    response = client.post("/workspaces/switch", {"workspace": world.b.slug})
    assert response.status_code == 302
    page = client.get(response.location, follow_redirects=True)
    assert f"You are now working in {world.b.name}." in text_of(page)
    assert current_workspace(page) == world.b.name
    assert listed(page) == ["B Other Org Y", "B Partner Org X"]
    assert client.get("/partners/new").status_code == 403  # a viewer in B

    client.post("/workspaces/switch", {"workspace": world.a.slug})
    page = client.get("/partners/")
    assert current_workspace(page) == world.a.name
    assert listed(page) == ["A Other Org Y", "A Partner Org X"]


@pytest.mark.parametrize("slug", ["b", "no-such-workspace", ""])
def test_switching_to_a_workspace_one_is_not_a_member_of_is_not_found(app, world, login, slug):
    """Another workspace and no workspace at all answer alike."""
    client = login(world.a.staff)
    target = world.b.slug if slug == "b" else slug
    response = client.post("/workspaces/switch", {"workspace": target})
    assert response.status_code == 404
    assert world.b.name not in text_of(response)
    page = client.get("/partners/")
    assert current_workspace(page) == world.a.name
    assert listed(page) == ["A Other Org Y", "A Partner Org X"]


def test_a_nul_character_in_the_workspace_asked_for_is_a_clear_error(app, world, login):
    client = login(world.a.staff)
    response = client.post("/workspaces/switch", {"workspace": "b\x00"})
    assert response.status_code == 400
    assert current_workspace(client.get("/partners/")) == world.a.name


def test_switching_needs_the_forms_token(app, world, two_workspaces):
    """A page on another site cannot move someone into another workspace."""
    client = Client(app)
    post_login(client, two_workspaces, PASSWORD)
    response = client.post("/workspaces/switch", {"workspace": world.b.slug}, csrf=False)
    assert response.status_code == 400
    assert current_workspace(client.get("/partners/")) == world.a.name


# --- logging out ------------------------------------------------------------------------------


def test_logout_ends_the_session_and_its_cookie_cannot_be_replayed(app, world, login):
    client = login(world.a.staff)
    cookie = client.http.get_cookie("session").value
    replay = Client(app)
    replay.http.set_cookie("session", cookie)
    assert replay.get("/partners/").status_code == 200  # the control: the copy works now

    response = client.post("/logout")
    assert response.status_code == 302 and "/login" in response.location
    assert "You are logged out." in text_of(client.get(response.location))
    assert client.get("/partners/").status_code == 302

    stolen = Client(app)
    stolen.http.set_cookie("session", cookie)
    response = stolen.get("/partners/")
    assert response.status_code == 302 and "/login" in response.location
    assert stolen.post("/partners/new", {"name": "Planted", "kind": "civic"}).status_code == 302


def test_logging_in_again_after_logout_works(app, world, login):
    client = login(world.a.staff)
    client.post("/logout")
    assert post_login(client, world.a.staff.email, world.a.staff.password).status_code == 302
    assert client.get("/partners/").status_code == 200
