"""Sessions end when they should: logout, password change, ended membership, idle and
absolute expiry; failed logins lock the account and are rate-limited; attempts are logged."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from crm import clock
from crm.auth.models import LoginAttempt, User
from crm.extensions import db
from crm.tenancy import all_workspaces
from tests.conftest import Client

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def replay(app, client: Client) -> Client:
    """A new browser presenting the old session cookie."""
    thief = Client(app)
    thief.http.set_cookie("session", client.http.get_cookie("session").value)
    return thief


def test_a_cookie_replayed_after_logout_is_refused(app, world, login):
    client = login(world.a.staff)
    thief = replay(app, client)
    assert thief.get("/partners/").status_code == 200
    client.post("/logout")
    response = thief.get("/partners/")
    assert response.status_code == 302 and "/login" in response.location


def test_a_cookie_replayed_after_a_password_change_is_refused(app, world, login):
    client = login(world.a.staff)
    other_device = login(world.a.staff)
    response = client.post(
        "/account/password",
        {
            "current": world.a.staff.password,
            "password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 302
    assert client.get("/partners/").status_code == 200  # this session goes on
    response = other_device.get("/partners/")
    assert response.status_code == 302 and "/login" in response.location


def test_a_cookie_replayed_after_the_membership_ends_is_refused(app, world, login):
    victim = login(world.a.staff)
    admin = login(world.a.admin)
    response = admin.post(f"/workspaces/members/{world.a.staff.membership_public_id}/end")
    assert response.status_code == 302
    response = victim.get("/partners/")
    assert response.status_code == 302 and "/login" in response.location


def test_idle_sessions_end_after_30_minutes(app, world, login):
    with clock.frozen(START) as travel:
        client = login(world.a.staff)
        travel.forward(minutes=29)
        assert client.get("/partners/").status_code == 200
        travel.forward(minutes=29)  # activity keeps it alive
        assert client.get("/partners/").status_code == 200
        travel.forward(minutes=31)
        response = client.get("/partners/")
        assert response.status_code == 302 and "/login" in response.location
        page = client.get(response.location)
        assert "without activity" in page.get_data(as_text=True)


def test_sessions_end_after_12_hours_however_active(app, world, login):
    with clock.frozen(START) as travel:
        client = login(world.a.staff)
        for _ in range(24):
            travel.forward(minutes=29)
            assert client.get("/partners/").status_code == 200
        travel.forward(minutes=29)  # 12 h 6 min after login
        assert client.get("/partners/").status_code == 302


def _fail(client: Client, email: str):
    return client.post("/login", {"email": email, "password": "not the password at all"})


def test_five_failures_lock_the_account_for_ten_minutes(app, world):
    member = world.a.viewer
    with clock.frozen(START) as travel:
        client = Client(app)
        for _ in range(5):
            assert _fail(client, member.email).status_code == 401
        locked = client.post("/login", {"email": member.email, "password": member.password})
        assert locked.status_code == 401  # even the right password, while locked
        travel.forward(minutes=9)
        assert (
            client.post("/login", {"email": member.email, "password": member.password}).status_code
            == 401
        )
        travel.forward(minutes=2)
        response = client.post("/login", {"email": member.email, "password": member.password})
        assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, member.user_id)
        assert user.failed_logins == 0 and user.locked_until is None


def test_locked_and_unknown_accounts_answer_alike(app, world):
    client = Client(app)
    for _ in range(5):
        _fail(client, world.a.viewer.email)
    locked = _fail(client, world.a.viewer.email)
    unknown = _fail(client, "nobody@nowhere.example")
    assert locked.status_code == unknown.status_code == 401
    for response in (locked, unknown):
        text = response.get_data(as_text=True)
        assert "The email or password is not right" in text
        assert "locked for 10 minutes" in text  # the same general warning, for everyone


def test_every_login_attempt_is_logged(app, world, login):
    client = Client(app)
    _fail(client, world.a.staff.email)
    _fail(client, "Nobody@Nowhere.example")
    login(world.a.staff)
    with app.app_context(), all_workspaces():
        rows = db.session.execute(
            select(LoginAttempt.email, LoginAttempt.outcome, LoginAttempt.succeeded)
            .order_by(LoginAttempt.id.desc())
            .limit(3)
        ).all()
    assert [tuple(r) for r in reversed(rows)] == [
        (world.a.staff.email, "bad_credentials", False),
        ("nobody@nowhere.example", "bad_credentials", False),
        (world.a.staff.email, "ok", True),
    ]


def test_failed_logins_are_rate_limited_per_address(app, world):
    client = Client(app)
    statuses = [_fail(client, f"someone{n}@nowhere.example").status_code for n in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    with app.app_context():
        limited = db.session.execute(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.outcome == "rate_limited")
        ).scalar_one()
    assert limited == 1


def test_the_lock_outlives_a_new_session_but_not_its_ten_minutes(app, world):
    """Opening a new browser does not get round the lock."""
    with clock.frozen(START) as travel:
        for _ in range(5):
            _fail(Client(app), world.a.viewer.email)
        assert (
            Client(app)
            .post("/login", {"email": world.a.viewer.email, "password": world.a.viewer.password})
            .status_code
            == 401
        )
        travel.forward(minutes=10, seconds=1)
        assert (
            Client(app)
            .post("/login", {"email": world.a.viewer.email, "password": world.a.viewer.password})
            .status_code
            == 302
        )


def test_no_remember_me_cookie_is_ever_set(app, world, login):
    client = login(world.a.staff)
    assert client.http.get_cookie("remember_token") is None
