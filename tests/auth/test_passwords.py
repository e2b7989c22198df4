"""Password rules and the emailed reset link: one use, one hour, nothing told to strangers."""

from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher

import crm.auth.passwords
from crm import clock
from crm.auth.models import User
from crm.auth.services import AccountError, check_password_rules
from crm.extensions import db
from tests.auth.helpers import emails_to, link_in
from tests.conftest import Client

NEW = "tulips under the lighthouse"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 8"),
        ("x" * 129, "at most 128"),
        ("password1", "too common"),
        ("Qwertyuiop", "too common"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password, message):
    with pytest.raises(AccountError, match=message):
        check_password_rules(password)


def test_long_unusual_passwords_need_no_symbols_or_digits():
    check_password_rules("tulips under the lighthouse")
    check_password_rules("x" * 128)


def _ask_reset(app, email):
    return Client(app).post("/password/forgot", {"email": email})


def test_reset_answers_the_same_for_known_and_unknown_emails(app, world):
    known = _ask_reset(app, world.a.staff.email)
    unknown = _ask_reset(app, "nobody@nowhere.example")
    assert known.status_code == unknown.status_code == 302
    assert known.location == unknown.location
    assert emails_to(app, "nobody@nowhere.example") == []
    [email] = emails_to(app, world.a.staff.email, "password_reset")
    assert email.workspace_id is None  # an account email, shown on no workspace page
    assert world.a.staff.email not in email.subject


def test_the_reset_link_works_once(app, world):
    _ask_reset(app, world.a.staff.email)
    link = link_in(emails_to(app, world.a.staff.email, "password_reset")[-1])
    client = Client(app)
    assert client.get(link).status_code == 200
    response = client.post(link, {"password": NEW, "confirm": NEW})
    assert response.status_code == 302 and "/login" in response.location
    assert client.post("/login", {"email": world.a.staff.email, "password": NEW}).status_code == 302
    reused = Client(app).post(
        link, {"password": "another new passphrase", "confirm": "another new passphrase"}
    )
    assert reused.status_code == 404
    assert "no longer works" in reused.get_data(as_text=True)


def test_the_reset_link_expires_after_an_hour(app, world):
    start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    with clock.frozen(start) as travel:
        _ask_reset(app, world.a.staff.email)
        link = link_in(emails_to(app, world.a.staff.email, "password_reset")[-1])
        travel.forward(minutes=59)
        assert Client(app).get(link).status_code == 200
        travel.forward(minutes=2)
        assert Client(app).get(link).status_code == 404


def test_a_tampered_reset_link_is_refused(app, world):
    _ask_reset(app, world.a.staff.email)
    link = link_in(emails_to(app, world.a.staff.email, "password_reset")[-1])
    tampered = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    assert Client(app).get(tampered).status_code == 404
    assert Client(app).post(tampered, {"password": NEW, "confirm": NEW}).status_code == 404


def test_a_reset_ends_every_session_and_the_lock(app, world, login):
    session = login(world.a.staff)
    for _ in range(5):
        Client(app).post("/login", {"email": world.a.staff.email, "password": "wrong password"})
    _ask_reset(app, world.a.staff.email)
    link = link_in(emails_to(app, world.a.staff.email, "password_reset")[-1])
    Client(app).post(link, {"password": NEW, "confirm": NEW})
    assert session.get("/partners/").status_code == 302
    assert (
        Client(app).post("/login", {"email": world.a.staff.email, "password": NEW}).status_code
        == 302
    )


def test_a_weak_new_password_is_refused_and_the_link_still_works(app, world):
    _ask_reset(app, world.a.staff.email)
    link = link_in(emails_to(app, world.a.staff.email, "password_reset")[-1])
    response = Client(app).post(link, {"password": "password1", "confirm": "password1"})
    assert response.status_code == 422
    assert "too common" in response.get_data(as_text=True)
    assert Client(app).get(link).status_code == 200


def test_changing_the_password_needs_the_current_one(app, world, login):
    client = login(world.a.staff)
    response = client.post(
        "/account/password", {"current": "wrong", "password": NEW, "confirm": NEW}
    )
    assert response.status_code == 422
    assert "current password is not right" in response.get_data(as_text=True)


def test_old_hashes_are_upgraded_at_login(app, world):
    weaker = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
    with app.app_context():
        user = db.session.get(User, world.a.viewer.user_id)
        user.password_hash = weaker.hash(world.a.viewer.password)
        db.session.commit()
    Client(app).login(world.a.viewer)
    with app.app_context():
        user = db.session.get(User, world.a.viewer.user_id)
        assert not crm.auth.passwords.needs_rehash(user.password_hash)
        assert user.password_hash.startswith("$argon2id$")
        assert "m=512" not in user.password_hash
