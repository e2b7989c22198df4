"""Workspace isolation: the holes RELIABILITY.md names, each closed and proven here."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.exc import InvalidRequestError
from werkzeug.exceptions import NotFound

from crm.extensions import db
from crm.partners.models import Organization, OrganizationKind, Stage
from crm.roles import Role
from crm.tenancy import (
    GLOBAL_TABLES,
    NoWorkspaceError,
    WorkspaceMismatchError,
    all_workspaces,
    get_or_404,
    workspace_context,
    workspace_tables,
)
from crm.workspaces.models import Membership
from tests import tripwire


def names(side_id=None):
    return set(db.session.execute(select(Organization.name)).scalars())


def count_statements():
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    return statements, record


def test_a_query_with_no_workspace_raises_before_any_sql(app):
    statements, record = count_statements()
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            with pytest.raises(NoWorkspaceError):
                db.session.execute(select(Organization)).all()
            with pytest.raises(NoWorkspaceError):
                db.session.get(Organization, 1)
            with pytest.raises(NoWorkspaceError):
                db.session.execute(update(Organization).values(stage=Stage.ENDED))
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    assert statements == []


def test_alternating_workspaces_on_one_session(app, world):
    with app.app_context():
        for _ in range(3):  # the criterion's value is bound per execution, not cached
            with workspace_context(world.a.id):
                assert names() == {"A Partner Org X", "A Other Org Y"}
            with workspace_context(world.b.id):
                assert names() == {"B Partner Org X", "B Other Org Y"}


def test_session_get_from_the_identity_map_across_a_workspace_switch(app, world):
    with app.app_context():
        with workspace_context(world.a.id):
            org_x = db.session.get(Organization, world.a.org_x_id)
            assert org_x is not None
        with workspace_context(world.b.id):
            assert db.session.get(Organization, world.a.org_x_id) is None
        with all_workspaces():
            held = db.session.get(Organization, world.a.org_x_id)
            with workspace_context(world.b.id):
                # the object is in the identity map, so get() would answer without SQL
                assert db.session.get(Organization, world.a.org_x_id) is None
            assert held.name == "A Partner Org X"


def test_a_workspace_switch_after_a_commit_sorts_the_expired_identity_map(app, world):
    """A commit expires every loaded object; a later switch, with no scope bound between, must
    still sort them: same workspace kept and usable, another workspace let go."""
    with app.app_context():
        with workspace_context(world.a.id):
            org_x = db.session.get(Organization, world.a.org_x_id)
            org_x.mission = "after commit"
            db.session.commit()
        with workspace_context(world.a.id):
            assert org_x.mission == "after commit"
            db.session.commit()
        with workspace_context(world.b.id):
            assert db.session.get(Organization, world.a.org_x_id) is None


def test_switching_workspace_with_unsaved_changes_is_refused(app, world):
    with app.app_context(), all_workspaces():
        org = db.session.get(Organization, world.a.org_x_id)
        org.name = "Changed"
        with pytest.raises(WorkspaceMismatchError, match="commit"), workspace_context(world.b.id):
            pass
        db.session.rollback()


def test_orm_bulk_update_and_delete_touch_only_the_current_workspace(app, world):
    with app.app_context():
        with workspace_context(world.a.id):
            db.session.execute(update(Organization).values(mission="bulk"))
            db.session.execute(delete(Membership).where(Membership.role == Role.VIEWER))
            db.session.flush()
        with workspace_context(world.b.id):
            missions = set(db.session.execute(select(Organization.mission)).scalars())
            viewers = db.session.execute(
                select(func.count()).select_from(Membership).where(Membership.role == Role.VIEWER)
            ).scalar_one()
        assert "bulk" not in missions
        assert viewers == 1
        with workspace_context(world.a.id):
            assert set(db.session.execute(select(Organization.mission)).scalars()) == {"bulk"}


def test_an_orm_bulk_update_by_primary_key_touches_only_the_current_workspace(app, world):
    """A list of parameter sets with primary keys: loader criteria do not reach it. With the
    scope's WHERE added, SQLAlchemy asks for synchronize_session=None (it cannot update held
    objects then): a plain call is refused before any SQL, never run unscoped."""
    with app.app_context():
        with workspace_context(world.a.id):
            db.session.execute(
                update(Organization),
                [
                    {"id": world.a.org_x_id, "mission": "bulk by key"},
                    {"id": world.b.org_x_id, "mission": "bulk by key"},
                ],
                execution_options={"synchronize_session": None},
            )
            db.session.commit()
            with pytest.raises(InvalidRequestError, match="synchronize_session=None"):
                db.session.execute(update(Organization), [{"id": world.b.org_x_id, "mission": "x"}])
        with all_workspaces():
            missions = dict(
                db.session.execute(
                    select(Organization.id, Organization.mission).where(
                        Organization.id.in_([world.a.org_x_id, world.b.org_x_id])
                    )
                ).all()
            )
    assert missions == {world.a.org_x_id: "bulk by key", world.b.org_x_id: "Mission X"}


def test_new_records_are_stamped_with_the_current_workspace(app, world):
    with app.app_context(), workspace_context(world.a.id):
        org = Organization(name="New", kind=OrganizationKind.CIVIC)
        db.session.add(org)
        db.session.flush()
        assert org.workspace_id == world.a.id
        assert org.public_id is not None


def test_a_record_for_another_workspace_is_refused(app, world):
    with app.app_context(), workspace_context(world.a.id):
        db.session.add(
            Organization(name="Smuggled", kind=OrganizationKind.CIVIC, workspace_id=world.b.id)
        )
        with pytest.raises(WorkspaceMismatchError):
            db.session.flush()
        db.session.rollback()


def test_a_record_never_moves_to_another_workspace(app, world):
    with app.app_context(), workspace_context(world.a.id):
        org = db.session.get(Organization, world.a.org_y_id)
        org.workspace_id = world.b.id
        with pytest.raises(WorkspaceMismatchError):
            db.session.flush()
        db.session.rollback()


def test_references_must_stay_inside_the_workspace(app, world):
    with app.app_context():
        with workspace_context(world.a.id):
            org = db.session.get(Organization, world.a.org_y_id)
            with all_workspaces():
                foreign_owner_id = db.session.execute(
                    select(Membership.id).where(
                        Membership.public_id == world.b.staff.membership_public_id
                    )
                ).scalar_one()
            org.owner_id = foreign_owner_id
            with pytest.raises(WorkspaceMismatchError, match="Membership"):
                db.session.flush()
            db.session.rollback()
        with all_workspaces():
            membership = db.session.execute(
                select(Membership).where(Membership.public_id == world.a.staff.membership_public_id)
            ).scalar_one()
            membership.organization_id = world.b.org_x_id
            membership.role = Role.PARTNER
            with pytest.raises(WorkspaceMismatchError, match="Organization"):
                db.session.flush()
            db.session.rollback()


def test_new_records_in_all_workspaces_need_an_explicit_workspace(app):
    with app.app_context(), all_workspaces():
        db.session.add(Organization(name="Nowhere", kind=OrganizationKind.CIVIC))
        with pytest.raises(NoWorkspaceError):
            db.session.flush()
        db.session.rollback()


def test_all_workspaces_sees_every_workspace(app, world):
    with app.app_context(), all_workspaces():
        assert {"A Partner Org X", "B Partner Org X"} <= names()


def test_partner_scope_sees_only_its_organization(app, world):
    with app.app_context(), workspace_context(world.a.id, organization_id=world.a.org_x_id):
        assert names() == {"A Partner Org X"}
        assert db.session.get(Organization, world.a.org_y_id) is None
        db.session.add(Organization(name="Partner-made", kind=OrganizationKind.CIVIC))
        with pytest.raises(WorkspaceMismatchError):
            db.session.flush()
        db.session.rollback()


def test_staff_only_fields_never_reach_partners_and_saving_keeps_them(app, world):
    with app.app_context():
        with workspace_context(world.a.id, organization_id=world.a.org_x_id, hide_staff_only=True):
            org = db.session.execute(select(Organization)).scalar_one()
            assert org.interests is None
            assert org.mission == "Mission X"
            org.mission = "Edited by the partner"
            db.session.flush()
        with workspace_context(world.a.id):
            db.session.expire_all()
            org = db.session.get(Organization, world.a.org_x_id)
            assert org.interests == "Secret notes X"
            assert org.mission == "Edited by the partner"


def test_get_or_404_treats_another_workspace_as_missing(app, world):
    with app.test_request_context(), workspace_context(world.a.id):
        assert get_or_404(Organization, world.a.own[Organization]).id == world.a.org_x_id
        with pytest.raises(NotFound):
            get_or_404(Organization, world.b.own[Organization])
        with pytest.raises(NotFound):
            get_or_404(Organization, "not-a-uuid")


def test_the_tripwire_fails_raw_sql_without_the_workspace(app, world):
    with app.app_context(), workspace_context(world.a.id):
        with pytest.raises(AssertionError, match="unscoped SQL"):
            db.session.execute(text("SELECT name FROM organizations")).all()
        db.session.rollback()
    assert tripwire.violations
    tripwire.violations.clear()


@pytest.mark.parametrize(
    ("sql", "missing"),
    [
        ("SELECT o.name FROM organizations AS o WHERE o.workspace_id = ?", []),
        ("SELECT name FROM organizations", ["organizations"]),
        (
            "SELECT * FROM organizations JOIN memberships AS m ON m.id = organizations.owner_id "
            "WHERE organizations.workspace_id = ?",
            ["m"],
        ),
        ("UPDATE organizations SET name=? WHERE organizations.id = ?", ["organizations"]),
        ("DELETE FROM memberships WHERE memberships.workspace_id IN (?)", []),
        ("SELECT * FROM users WHERE users.id = ?", []),
        ("INSERT INTO organizations (name) VALUES (?)", []),
    ],
)
def test_tripwire_reads_statements(app, sql, missing):
    with app.app_context():
        tables = workspace_tables(db.metadata)
    assert tripwire.unscoped_references(sql, tables) == missing


def test_every_table_is_scoped_or_declared_global(app):
    with app.app_context():
        scoped = workspace_tables(db.metadata)
        for table in db.metadata.sorted_tables:
            assert (table.name in scoped) != (table.name in GLOBAL_TABLES), table.name


def test_uniqueness_inside_a_workspace_starts_with_the_workspace(app):
    """A global unique index on a workspace table tells workspace A what B holds."""
    with app.app_context():
        scoped = workspace_tables(db.metadata)
        for table in db.metadata.sorted_tables:
            if table.name not in scoped:
                continue
            model = next(m.class_ for m in db.Model.registry.mappers if m.local_table is table)
            exempt = {(name,) for name in getattr(model, "__global_unique__", ())}
            uniques = [list(i.columns) for i in table.indexes if i.unique]
            uniques += [
                list(c.columns)
                for c in table.constraints
                if c.__class__.__name__ == "UniqueConstraint"
            ]
            for columns in uniques:
                if tuple(c.name for c in columns) in exempt:
                    continue
                assert columns[0].name == "workspace_id", (table.name, [c.name for c in columns])
            assert any(
                [c.name for c in cols][:2] == ["workspace_id", "public_id"] for cols in uniques
            ), table.name


def test_staff_only_models_are_invisible_to_partners_and_viewers(app, world):
    from crm.followups.models import FollowUp
    from crm.partners.models import Activity, Contact, StageChange

    with app.app_context():
        with workspace_context(world.a.id):
            assert db.session.execute(select(func.count(Activity.id))).scalar_one() == 2
        for organization_id in (world.a.org_x_id, None):  # a partner, then a viewer
            with workspace_context(
                world.a.id, organization_id=organization_id, hide_staff_only=True
            ):
                for model in (Activity, FollowUp, StageChange):
                    assert db.session.execute(select(model)).all() == [], model
                # contacts are not staff-only: the partner sees their own organization's
                contacts = db.session.execute(select(Contact.name)).scalars().all()
                assert len(contacts) == (1 if organization_id else 2)


def test_partners_cannot_create_staff_only_records(app, world):
    from crm.partners.models import Activity, ActivityKind

    with (
        app.app_context(),
        workspace_context(world.a.id, organization_id=world.a.org_x_id, hide_staff_only=True),
    ):
        db.session.add(Activity(kind=ActivityKind.NOTE, occurred_at=datetime.now(UTC), summary="x"))
        with pytest.raises(WorkspaceMismatchError, match="staff-only"):
            db.session.flush()
        db.session.rollback()
