"""The audit log's writer: one row per create, update and delete of a workspace record, written
by the session itself; audited reads and exports; and no way to change or delete a row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from crm import clock
from crm.audit.context import actor_context, current_actor
from crm.audit.models import AuditEvent
from crm.audit.recorder import AuditLogIsAppendOnly, json_safe
from crm.audit.services import record_export, record_read
from crm.extensions import db
from crm.messaging.models import Message
from crm.partners.models import Organization, OrganizationKind, Stage
from crm.roles import Role
from crm.tenancy import all_workspaces, workspace_context
from crm.workspaces.models import Invitation, Membership

# Every request of the browser in these tests comes from here (Flask-Login's "strong"
# session protection logs out a session whose address or browser changes).
FROM_WHERE = {"REMOTE_ADDR": "203.0.113.7", "HTTP_USER_AGENT": "AuditTestBrowser/1.0"}


def events_of(record_id, workspace_id) -> list[AuditEvent]:
    with workspace_context(workspace_id):
        return list(
            db.session.execute(
                select(AuditEvent).where(AuditEvent.record_id == record_id).order_by(AuditEvent.id)
            ).scalars()
        )


def form(**overrides) -> dict:
    data = {
        "name": "Women's Health Collective",
        "kind": "womens_health",
        "stage": "identified",
        "mission": "Care for women after release",
        "interests": "",
        "owner": "",
    }
    data.update(overrides)
    return data


def public_id_of(response) -> uuid.UUID:
    return uuid.UUID(response.location.rstrip("/").rsplit("/", 1)[-1])


def test_create_update_and_delete_through_the_web_each_write_one_row(app, world, client):
    admin = world.a.admin
    client.http.environ_base.update(FROM_WHERE)
    client.login(admin)

    response = client.post("/partners/new", form())
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    org_id = public_id_of(response)
    with app.app_context():
        (created,) = events_of(org_id, world.a.id)
        assert created.action == "create"
        assert created.record_type == "Organization"
        assert created.record_label == "Women's Health Collective"
        assert created.workspace_id == world.a.id
        assert (created.actor_id, created.actor_label) == (admin.user_id, admin.email)
        assert (created.ip, created.user_agent) == ("203.0.113.7", "AuditTestBrowser/1.0")
        assert created.changes["name"] == [None, "Women's Health Collective"]
        assert created.changes["kind"] == [None, "womens_health"]
        assert created.changes["stage"] == [None, "identified"]
        assert not {"id", "public_id", "workspace_id", "created_at", "updated_at"} & set(
            created.changes
        )

    response = client.post(
        f"/partners/{org_id}/edit",
        form(stage="contacted", mission="Care and housing"),
    )
    assert response.status_code == 302
    with app.app_context():
        created_again, updated = events_of(org_id, world.a.id)
        assert created_again.id == created.id
        assert updated.action == "update"
        assert updated.actor_id == admin.user_id
        assert updated.ip == "203.0.113.7"
        assert updated.changes == {
            "stage": ["identified", "contacted"],
            "mission": ["Care for women after release", "Care and housing"],
        }

    response = client.post(f"/partners/{org_id}/delete")
    assert response.status_code == 302
    with app.app_context():
        events = events_of(org_id, world.a.id)
        assert [e.action for e in events] == ["create", "update", "delete"]
        deleted = events[-1]
        assert deleted.actor_label == admin.email
        assert deleted.record_label == "Women's Health Collective"
        assert deleted.changes["name"] == ["Women's Health Collective", None]
        assert deleted.changes["stage"] == ["contacted", None]


def test_a_form_saved_without_changes_writes_no_row(app, world, login):
    client = login(world.a.admin)
    org_id = world.a.own[Organization]
    response = client.post(
        f"/partners/{org_id}/edit",
        form(
            name="A Partner Org X",
            kind="civic",
            stage="active",
            mission="Mission X",
            interests="Secret notes X",
        ),
    )
    assert response.status_code == 302
    with app.app_context():
        assert [e.action for e in events_of(org_id, world.a.id)] == ["create"]  # the world's


def test_staff_only_field_changes_are_recorded(app, world, login):
    staff = world.a.staff
    client = login(staff)
    org_id = world.a.other_org[Organization]
    response = client.post(
        f"/partners/{org_id}/edit",
        form(
            name="A Other Org Y",
            kind="faith_based",
            stage="identified",
            mission="Mission Y",
            interests="Runs a reentry closet",
            owner=str(staff.membership_public_id),
        ),
    )
    assert response.status_code == 302
    with app.app_context():
        updated = events_of(org_id, world.a.id)[-1]
        assert updated.action == "update"
        assert updated.actor_label == staff.email
        assert updated.changes["interests"] == ["Secret notes Y", "Runs a reentry closet"]
        assert updated.changes["owner_id"][0] is None
        assert isinstance(updated.changes["owner_id"][1], int)
        assert set(updated.changes) == {"interests", "owner_id"}


def test_a_task_without_an_actor_is_the_system(app, world, login):
    # a request first: its actor must not stay bound after it
    login(world.a.admin).get("/partners/")
    assert current_actor().label == "system"
    with app.app_context(), workspace_context(world.a.id):
        org = db.session.get(Organization, world.a.org_y_id)
        org.stage = Stage.RESEARCHED
        db.session.flush()
        event = events_of(org.public_id, world.a.id)[-1]
    assert event.action == "update"
    assert (event.actor_id, event.actor_label, event.ip, event.user_agent) == (
        None,
        "system",
        "",
        "",
    )
    assert event.changes == {"stage": ["identified", "researched"]}


def test_actor_context_names_who_acts(app, world):
    admin = world.a.admin
    with (
        app.app_context(),
        workspace_context(world.a.id),
        actor_context(admin.user_id, admin.email, ip="10.0.0.9", user_agent="\x00" + "x" * 400),
    ):
        db.session.add(Organization(name="From the CLI", kind=OrganizationKind.OTHER))
        db.session.flush()
        org = db.session.execute(
            select(Organization).where(Organization.name == "From the CLI")
        ).scalar_one()
        (event,) = events_of(org.public_id, world.a.id)
    assert (event.actor_id, event.actor_label, event.ip) == (admin.user_id, admin.email, "10.0.0.9")
    assert event.user_agent == "x" * 255  # cut to the column, NUL (refused by PostgreSQL) dropped


def test_the_old_value_is_known_even_after_a_commit_expired_it(app, world):
    with app.app_context(), workspace_context(world.a.id):
        org = db.session.get(Organization, world.a.org_y_id)
        db.session.commit()  # expires every attribute
        org.mission = "New mission"
        db.session.flush()
        event = events_of(org.public_id, world.a.id)[-1]
    assert event.changes == {"mission": ["Mission Y", "New mission"]}


def test_a_reference_set_through_its_relationship_is_recorded(app, world):
    with app.app_context(), workspace_context(world.a.id):
        staff = db.session.execute(
            select(Membership).where(Membership.public_id == world.a.staff.membership_public_id)
        ).scalar_one()
        org = db.session.get(Organization, world.a.org_y_id)
        org.owner = staff  # the owner_id column is only filled in during the flush
        db.session.flush()
        assert events_of(org.public_id, world.a.id)[-1].changes == {"owner_id": [None, staff.id]}
        org.owner = None
        db.session.flush()
        assert events_of(org.public_id, world.a.id)[-1].changes == {"owner_id": [staff.id, None]}


def test_events_belong_to_the_record_s_workspace(app, world):
    with app.app_context(), all_workspaces():
        org = Organization(
            name="Made by a sweep", kind=OrganizationKind.OTHER, workspace_id=world.b.id
        )
        db.session.add(org)
        db.session.flush()
        public_id = org.public_id
        db.session.commit()
    with app.app_context():
        assert events_of(public_id, world.a.id) == []
        (event,) = events_of(public_id, world.b.id)
        assert event.workspace_id == world.b.id


def test_excluded_fields_are_never_recorded(app, world):
    with app.app_context(), workspace_context(world.a.id):
        invitation = Invitation(
            email="new@a.example",
            role=Role.STAFF,
            secret_hash="a" * 64,
            expires_at=clock.now() + timedelta(hours=72),
        )
        db.session.add(invitation)
        db.session.flush()
        (created,) = events_of(invitation.public_id, world.a.id)
        assert "secret_hash" not in created.changes
        assert created.changes["email"] == [None, "new@a.example"]
        invitation.secret_hash = "b" * 64  # only an excluded field: no row at all
        db.session.flush()
        assert len(events_of(invitation.public_id, world.a.id)) == 1


def test_records_of_no_workspace_are_not_audited(app, world):
    with app.app_context(), all_workspaces():
        message = Message(
            kind="password_reset",
            idempotency_key=f"password_reset:test-{uuid.uuid4()}",
            recipient="someone@example.org",
            subject="Reset your Inreach password",
            body="a link",
        )
        db.session.add(message)
        db.session.flush()
        assert message.workspace_id is None
        found = db.session.execute(
            select(AuditEvent).where(AuditEvent.record_id == message.public_id)
        ).all()
    assert found == []


def test_record_read_and_record_export(app, world):
    admin = world.a.admin
    with (
        app.app_context(),
        workspace_context(world.a.id),
        actor_context(admin.user_id, admin.email),
    ):
        org = db.session.get(Organization, world.a.org_x_id)
        read = record_read(org, {"page": "call-out list", "rows": 12})
        export = record_export("Organization", {"format": "csv", "rows": 2})
        assert read.id is not None and export.id is not None
        (event,) = [e for e in events_of(org.public_id, world.a.id) if e.action == "read"]
    assert (event.record_type, event.record_label) == ("Organization", "A Partner Org X")
    assert event.changes == {"page": "call-out list", "rows": 12}
    assert event.actor_id == admin.user_id
    assert (export.action, export.record_type, export.record_id) == ("export", "Organization", None)
    assert export.workspace_id == world.a.id


def _an_event(world) -> AuditEvent:
    return db.session.execute(
        select(AuditEvent).where(AuditEvent.record_id == world.a.own[Organization])
    ).scalar_one()


def test_the_application_cannot_change_or_delete_an_event(app, world):
    with app.app_context(), workspace_context(world.a.id):
        event = _an_event(world)
        event.actor_label = "someone else"
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()

        event = _an_event(world)
        db.session.delete(event)
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.flush()
        db.session.rollback()

        for statement in (
            update(AuditEvent).values(actor_label="x"),
            delete(AuditEvent),
            update(AuditEvent.__table__).values(actor_label="x"),
            delete(AuditEvent.__table__),
        ):
            with pytest.raises(AuditLogIsAppendOnly):
                db.session.execute(statement)
        db.session.rollback()
        assert _an_event(world).actor_label == "system"


def test_the_database_refuses_raw_updates_and_deletes(app, world):
    with app.app_context(), all_workspaces():
        event_id = db.session.execute(
            select(AuditEvent.id).where(AuditEvent.record_id == world.a.own[Organization])
        ).scalar_one()
        for sql in (
            "UPDATE audit_events SET actor_label = 'forged' WHERE id = :id",
            "DELETE FROM audit_events WHERE id = :id",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(sql), {"id": event_id})
            db.session.rollback()
        label = db.session.execute(
            select(AuditEvent.actor_label).where(AuditEvent.id == event_id)
        ).scalar_one()
    assert label == "system"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Stage.CROSS_TRAINED, "cross_trained"),
        (datetime(2026, 3, 8, 9, 0, tzinfo=UTC), "2026-03-08T09:00:00+00:00"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        ({"units": {"A"}}, {"units": ["A"]}),
        (b"\x00\x01", "<2 bytes>"),
        (timedelta(minutes=2), 120.0),
    ],
)
def test_values_are_kept_as_json(value, expected):
    assert json_safe(value) == expected
