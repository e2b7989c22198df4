"""The operator's commands: create workspaces and users, load the demo. They commit; inside a
test those commits are savepoints of the test's transaction, rolled back at its end."""

from __future__ import annotations

import re

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from crm.auth.services import find_user
from crm.extensions import db
from crm.partners.models import Organization
from crm.tenancy import ScopedSession
from crm.workspaces.models import Workspace
from crm.workspaces.services import find_workspace
from tests import tripwire
from tests.conftest import Client, fresh_database_url, make_test_app, worker_name


@pytest.fixture
def cli(app, tmp_path, monkeypatch):
    """Run a command as `inreach ...` would, with an instance folder of the test's own (the
    developer's instance/demo-logins.json must not leak into the answers)."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    runner = app.test_cli_runner()

    def run(command: str, *more: str, input=None):
        """`command` split at spaces, then `more` as they are (names with spaces)."""
        return runner.invoke(args=command.split() + list(more), input=input)

    return run


def workspaces(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count(Workspace.id))).scalar_one()


def log_in(app, email: str, password: str) -> Client:
    client = Client(app)
    response = client.post("/login", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    return client


def listed(response) -> list[str]:
    return re.findall(r'<td><a href="/partners/[^"]+">([^<]*)</a>', response.get_data(as_text=True))


# --- create-workspace -------------------------------------------------------------------------


def test_create_workspace_prints_the_slug(app, cli):
    result = cli("create-workspace --timezone America/Chicago", "Lakes County Jail")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "lakes-county-jail"
    with app.app_context():
        workspace = find_workspace("lakes-county-jail")
        assert (workspace.name, workspace.timezone) == ("Lakes County Jail", "America/Chicago")


def test_a_second_workspace_of_the_same_name_gets_its_own_slug(cli):
    first = cli("create-workspace --timezone America/Denver", "Twin County")
    second = cli("create-workspace --timezone America/Denver", "Twin  County")
    assert (first.stdout.strip(), second.stdout.strip()) == ("twin-county", "twin-county-2")


def test_a_bad_time_zone_fails_with_a_clear_message(app, cli):
    before = workspaces(app)
    result = cli("create-workspace --timezone Mars/Olympus_Mons", "Nowhere County")
    assert result.exit_code != 0
    assert "Unknown time zone 'Mars/Olympus_Mons'" in result.output
    assert "America/Chicago" in result.output  # says what a good value looks like
    assert "Traceback" not in result.output
    assert workspaces(app) == before


def test_the_command_commits_only_into_the_tests_transaction(app, cli):
    """The command's commit is a savepoint of the test's transaction: another connection does
    not see the workspace, so the test's rollback removes it."""
    result = cli("create-workspace --timezone UTC", "Savepoint County")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert find_workspace("savepoint-county") is not None  # the test's connection sees it
        with db.engine.connect() as other:
            seen = other.execute(
                select(Workspace.id).where(Workspace.slug == "savepoint-county")
            ).first()
        assert seen is None


# --- create-user ------------------------------------------------------------------------------


def test_create_user_prints_a_generated_password_that_logs_in(app, world, cli):
    result = cli(f"create-user New.Officer@A.example --workspace {world.a.slug} --role staff")
    assert result.exit_code == 0, result.output
    password = result.stdout.strip()
    assert len(password) >= 15 and " " not in password
    client = log_in(app, "new.officer@a.example", password)
    page = client.get("/partners/")
    assert page.status_code == 200
    assert world.a.name in page.get_data(as_text=True)
    assert listed(page) == ["A Other Org Y", "A Partner Org X"]


def test_password_stdin_prints_no_password(app, world, cli):
    command = (
        f"create-user typed@a.example --workspace {world.a.slug} --role admin --password-stdin"
    )
    result = cli(command, input="a long typed passphrase\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "typed@a.example is now admin" in result.stderr
    assert "a long typed passphrase" not in result.output
    log_in(app, "typed@a.example", "a long typed passphrase")


def test_a_common_password_from_stdin_is_refused(app, world, cli):
    command = f"create-user weak@a.example --workspace {world.a.slug} --role staff --password-stdin"
    result = cli(command, input="password123\n")
    assert result.exit_code != 0
    assert "too common" in result.output
    with app.app_context():
        assert find_user("weak@a.example") is None


def test_a_partner_user_of_one_organization(app, world, cli):
    organization = world.a.own[Organization]
    command = f"create-user helper@partner.example --workspace {world.a.slug} --role partner"
    result = cli(command, "--organization", str(organization))
    assert result.exit_code == 0, result.output
    client = log_in(app, "helper@partner.example", result.stdout.strip())
    assert listed(client.get("/partners/")) == ["A Partner Org X"]


@pytest.mark.parametrize(
    ("organization", "message"),
    [
        (None, "A partner user belongs to exactly one organization"),
        ("b-org", "no such organization in this workspace"),
        ("not-an-id", "--organization takes the organization's public id"),
    ],
)
def test_a_partner_needs_an_organization_of_the_workspace(app, world, cli, organization, message):
    command = f"create-user lost@partner.example --workspace {world.a.slug} --role partner"
    if organization == "b-org":
        organization = str(world.b.own[Organization])
    if organization:
        command += f" --organization {organization}"
    result = cli(command)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert find_user("lost@partner.example") is None


def test_an_unknown_workspace_fails_and_creates_nobody(app, cli):
    result = cli("create-user ghost@a.example --workspace no-such-place --role staff")
    assert result.exit_code != 0
    assert "no workspace with slug 'no-such-place'" in result.output
    with app.app_context():
        assert find_user("ghost@a.example") is None


def test_an_existing_account_joins_another_workspace_with_its_own_password(app, world, cli):
    """One person, two jail systems: no new password is made or printed."""
    result = cli(f"create-user {world.a.staff.email} --workspace {world.b.slug} --role viewer")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    client = log_in(app, world.a.staff.email, world.a.staff.password)
    header = client.get("/partners/").get_data(as_text=True)
    assert world.a.name in header and world.b.name in header  # the workspace switcher


def test_a_second_membership_in_the_same_workspace_is_refused(app, world, cli):
    result = cli(f"create-user {world.a.staff.email} --workspace {world.a.slug} --role admin")
    assert result.exit_code != 0
    assert "already a member" in result.output
    # still staff: the admin-only members page stays closed
    client = log_in(app, world.a.staff.email, world.a.staff.password)
    assert client.get("/workspaces/members").status_code == 403


# --- demo -------------------------------------------------------------------------------------


def test_demo_on_a_database_with_workspaces_loads_nothing(app, world, cli):
    before = workspaces(app)
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert "no demo was loaded" in result.output
    assert "Loaded the demo" not in result.output
    assert workspaces(app) == before


@pytest.fixture
def empty_app(monkeypatch, tmp_path):
    """An app on an empty, migrated database of its own, with a session of its own (the
    per-test transaction is bound to the main test database)."""
    other = make_test_app(fresh_database_url(f"demo_{worker_name()}"))
    monkeypatch.setattr(other, "instance_path", str(tmp_path))
    with other.app_context(), tripwire.allowed():
        upgrade()
    monkeypatch.setattr(db, "session", db._make_scoped_session({"class_": ScopedSession}))
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_demo_on_an_empty_database_loads_and_prints_logins_that_work(empty_app):
    result = empty_app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Loaded the demo workspaces." in result.output
    logins = re.findall(r"^\s+(\w+)\s+(\S+@\S+)\s+(\S+)\s", result.output, re.M)
    assert {role for role, _, _ in logins} == {"admin", "staff", "partner", "viewer"}
    role, email, password = next(row for row in logins if row[0] == "partner")
    client = log_in(empty_app, email, password)
    assert listed(client.get("/partners/")) == ["Bright Futures Family Services"]
    again = empty_app.test_cli_runner().invoke(args=["demo"])
    assert "Loaded the demo" not in again.output
    assert email in again.output  # the same logins, printed again
    assert workspaces(empty_app) == 2
