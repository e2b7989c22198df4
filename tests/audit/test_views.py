"""The audit log page: admins only, this workspace only, filters, time zone, no query per row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from crm import clock
from crm.audit.context import actor_context
from crm.audit.services import record_export
from crm.extensions import db
from crm.partners.models import Organization, OrganizationKind
from crm.roles import Role
from crm.tenancy import workspace_context


def add_organization(app, workspace_id, name, *, actor=None, at=None):
    """An organization made in `workspace_id` (by `actor`, a tests.world.Member, at `at`)."""
    with app.app_context(), workspace_context(workspace_id):
        with actor_context(actor.user_id, actor.email) if actor else actor_context():
            if at is None:
                db.session.add(Organization(name=name, kind=OrganizationKind.CIVIC))
                db.session.flush()
            else:
                with clock.frozen(at):
                    db.session.add(Organization(name=name, kind=OrganizationKind.CIVIC))
                    db.session.flush()
        db.session.commit()


def page(client, **args) -> str:
    response = client.get("/audit/", query_string=args)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.STAFF, Role.VIEWER, Role.PARTNER])
def test_only_admins_see_the_log(login, world, role):
    client = login(world.a.members[role])
    assert client.get("/audit/").status_code == 403
    assert "Audit log" not in client.get("/partners/").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/audit/")
    assert response.status_code == 302
    assert "/login" in response.location


def test_the_admin_sees_this_workspace_s_events_only(app, world, login):
    add_organization(app, world.a.id, "Alpha Reentry Works", actor=world.a.admin)
    add_organization(app, world.b.id, "Bravo Secret Shelter", actor=world.b.admin)
    client = login(world.a.admin)
    assert 'href="/audit/"' in client.get("/partners/").get_data(as_text=True)
    html = page(client)
    assert "Alpha Reentry Works" in html
    assert world.a.admin.email in html
    assert "Bravo Secret Shelter" not in html
    assert "B Partner Org X" not in html
    assert world.b.admin.email not in html
    # no filter reaches into B either
    html = page(client, record_type="Organization", action="create")
    assert "Bravo Secret Shelter" not in html


def test_changes_show_old_and_new_values(app, world, login):
    client = login(world.a.admin)
    org_id = world.a.other_org[Organization]
    response = client.post(
        f"/partners/{org_id}/edit",
        {
            "name": "A Other Org Y",
            "kind": "faith_based",
            "stage": "toured",
            "mission": "Mission Y",
            "interests": "Secret notes Y",
            "owner": "",
        },
    )
    assert response.status_code == 302
    html = page(client, action="update", record_type="Organization")
    assert "A Other Org Y" in html
    assert "identified" in html and "toured" in html
    assert "changed to" in html


def test_times_are_shown_in_the_workspace_s_zone(app, world, login):
    add_organization(
        app,
        world.a.id,
        "Summer Org",
        actor=world.a.admin,
        at=datetime(2026, 7, 1, 15, 0, tzinfo=UTC),
    )
    html = page(login(world.a.admin), record_type="Organization", action="create")
    assert "2026-07-01 10:00:00 CDT" in html  # workspace A keeps America/Chicago


def test_filters(app, world, login):
    admin, staff = world.a.admin, world.a.staff
    add_organization(app, world.a.id, "Made By Admin", actor=admin)
    add_organization(app, world.a.id, "Made By Staff", actor=staff)
    add_organization(app, world.a.id, "Made By Nobody")
    add_organization(
        app, world.a.id, "Made Long Ago", actor=admin, at=datetime(2020, 1, 15, 12, tzinfo=UTC)
    )
    with app.app_context(), workspace_context(world.a.id):
        with actor_context(admin.user_id, admin.email):
            record_export("Organization", {"format": "csv", "rows": 4})
        db.session.commit()
    client = login(admin)

    html = page(client, actor=str(staff.membership_public_id))
    assert "Made By Staff" in html
    assert "Made By Admin" not in html and "Made By Nobody" not in html

    html = page(client, actor="system", record_type="Organization")
    assert "Made By Nobody" in html
    assert "Made By Admin" not in html and "Made By Staff" not in html

    html = page(client, action="export")
    assert "Exported" in html and "csv" in html
    assert "Made By Admin" not in html

    html = page(client, since="2020-01-15", until="2020-01-15")
    assert "Made Long Ago" in html
    assert "Made By Admin" not in html
    html = page(client, since="2020-01-16")
    assert "Made Long Ago" not in html
    assert "Made By Admin" in html

    html = page(client, record_type="Invitation")
    assert "Made By Admin" not in html

    # nonsense is refused with a message, not a crash
    html = page(client, since="2020-02-01", until="2020-01-01")
    assert "on or after the start date" in html
    html = page(client, since="not a date", actor="nobody", action="drop")
    assert "Not a valid" in html
    assert page(client, since="0001-01-01", until="9999-12-31")


def test_pages_keep_the_filters(app, world, login, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    for n in range(5):
        add_organization(app, world.a.id, f"Paged Org {n}", actor=world.a.admin)
    client = login(world.a.admin)
    actor = str(world.a.admin.membership_public_id)
    first = page(client, action="create", actor=actor)
    assert "Paged Org 4" in first and "Paged Org 3" in first  # newest first
    assert "Paged Org 2" not in first
    assert "action=create" in first and f"actor={actor}" in first and "page=2" in first
    second = page(client, action="create", actor=actor, page=2)
    assert "Paged Org 2" in second and "Paged Org 1" in second
    assert "Paged Org 4" not in second


def count_queries(app, client, **args) -> int:
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            page(client, **args)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def test_the_number_of_queries_does_not_grow_with_the_rows(app, world, login):
    client = login(world.a.admin)
    page(client)  # first visit: the session settles (last activity, etc.)
    add_organization(app, world.a.id, "Row 0", actor=world.a.admin)
    few = count_queries(app, client)
    for n in range(1, 15):
        add_organization(app, world.a.id, f"Row {n}", actor=world.a.staff)
    many = count_queries(app, client)
    assert many == few
    assert count_queries(app, client, actor=str(world.a.staff.membership_public_id)) == few
