"""The demo data: loaded once on an empty database of its own, with the clock stopped on a
Wednesday afternoon, then read back as the people of the journeys would meet it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from crm import clock
from crm.auth.models import User
from crm.auth.services import find_user
from crm.demo import HARBOR, LAKES, DemoLogin, _Calendar, load_demo, path_to
from crm.extensions import db
from crm.facilities.models import Facility, Unit
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.subjects import load_subject
from crm.partners.models import Activity, Contact, Organization, Stage, StageChange
from crm.roles import Role
from crm.tenancy import (
    ScopedSession,
    WorkspaceScoped,
    all_workspaces,
    workspace_context,
    workspace_tables,
)
from crm.workspaces.models import Membership, Workspace
from crm.workspaces.services import memberships_of
from tests import tripwire
from tests.conftest import fresh_database_url, make_test_app, worker_name

ZONE = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 11, 14, 30, tzinfo=ZONE)  # a Wednesday, after the change to summer time


@dataclass
class Demo:
    app: Flask
    session: object
    logins: list[DemoLogin]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The demo on an empty, migrated database with a session of its own (the per-test
    transaction is bound to the main test database). The tripwire watches the load: no SQL on
    a workspace table leaves out the workspace."""
    app = make_test_app(fresh_database_url(f"demo_data_{worker_name()}"))
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    session = db._make_scoped_session({"class_": ScopedSession})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(db, "session", session)
        with app.app_context():
            with tripwire.allowed():
                upgrade()
            tripwire.install(db.engine, workspace_tables(db.metadata))
            with clock.frozen(NOW):
                logins = load_demo()
                db.session.commit()
            db.session.remove()
    yield Demo(app, session, logins)
    with app.app_context():
        session.remove()
        db.engine.dispose()


@pytest.fixture
def demo(loaded, monkeypatch):
    monkeypatch.setattr(db, "session", loaded.session)
    with loaded.app.app_context(), clock.frozen(NOW):
        yield loaded
        db.session.remove()


def workspace(name: str) -> Workspace:
    return db.session.execute(select(Workspace).where(Workspace.name == name)).scalar_one()


def member(email: str) -> Membership:
    return db.session.execute(
        select(Membership).join(Membership.user).where(User.email == email)
    ).scalar_one()


def test_the_demo_loads_on_an_empty_database(demo):
    with all_workspaces():
        names = set(db.session.execute(select(Workspace.name)).scalars())
    assert names == {HARBOR, LAKES}
    assert {login.role for login in demo.logins} == {"admin", "staff", "partner", "viewer"}
    with workspace_context(workspace(HARBOR).id):
        organizations = list(db.session.execute(select(Organization)).scalars())
        assert len(organizations) >= 15
        assert len({o.kind for o in organizations}) >= 10
        assert {o.stage for o in organizations} == set(Stage)
        filled = [o for o in organizations if o.phone and o.website and o.address]
        assert len(filled) >= len(organizations) * 2 // 3
        owners = Counter(o.owner_id for o in organizations)
        assert owners.most_common(1)[0][0] == member("dana.reyes@harbor.example").id
        facilities = list(db.session.execute(select(Facility).order_by(Facility.name)).scalars())
        assert [f.name for f in facilities] == [
            "Harbor Community Corrections Center",
            "Harbor County Jail",
        ]
        women = db.session.execute(
            select(Facility.name, Unit.name).join(Unit.facility).where(Unit.sex == "female")
        ).all()
        assert {tuple(row) for row in women} == {
            ("Harbor County Jail", "Unit E"),
            ("Harbor County Jail", "Unit F"),
            ("Harbor Community Corrections Center", "Women's dorm"),
        }
        contacts = Counter(
            db.session.execute(select(Contact.organization_id)).scalars()
        )  # 1-3 people each where there are any
        assert contacts and max(contacts.values()) <= 3
        assert db.session.execute(select(func.count(Activity.id))).scalar_one() >= 20
    with workspace_context(workspace(LAKES).id):
        facility = db.session.execute(select(Facility)).scalar_one()
        assert any(
            u.is_female
            for u in db.session.execute(select(Unit).where(Unit.facility_id == facility.id))
            .scalars()
            .all()
        )


def test_every_reference_stays_inside_its_workspace(demo):
    """What the before_flush check enforces, read back from the database: every foreign key
    from a workspace record to another workspace record points into the same workspace."""
    checked = 0
    with all_workspaces():
        for mapper in db.Model.registry.mappers:
            model = mapper.class_
            if not issubclass(model, WorkspaceScoped) or mapper.inherits is not None:
                continue
            for column in mapper.local_table.columns:
                for key in column.foreign_keys:
                    target = next(
                        (
                            m.class_
                            for m in db.Model.registry.mappers
                            if m.local_table is key.column.table
                            and issubclass(m.class_, WorkspaceScoped)
                        ),
                        None,
                    )
                    if target is None:
                        continue
                    other = aliased(target)
                    local = getattr(model, mapper.get_property_by_column(column).key)
                    rows = db.session.execute(
                        select(func.count())
                        .select_from(model)
                        .join(other, local == other.id)
                        .where(model.workspace_id != other.workspace_id)
                    ).scalar_one()
                    assert rows == 0, f"{model.__name__}.{column.name} crosses workspaces"
                    checked += 1
        follow_ups = list(db.session.execute(select(FollowUp)).scalars())
    assert checked >= 15
    assert tripwire.violations == []
    for follow_up in follow_ups:  # each subject exists in the follow-up's own workspace
        with workspace_context(follow_up.workspace_id):
            load_subject(follow_up.subject_kind, follow_up.subject_id)


def test_the_partner_user_belongs_to_both_workspaces(demo):
    ana = find_user("ana@brightfutures.example")
    memberships = memberships_of(ana.id)
    assert [m.workspace.name for m in memberships] == [HARBOR, LAKES]
    for membership in memberships:
        assert membership.role is Role.PARTNER
        with workspace_context(membership.workspace_id):
            organization = db.session.get(Organization, membership.organization_id)
            assert organization.name == "Bright Futures Family Services"
            contact = db.session.execute(
                select(Contact).where(Contact.user_id == ana.id)
            ).scalar_one()
            assert contact.organization_id == organization.id


def test_dana_has_follow_ups_overdue_today_this_week_and_later(demo):
    with workspace_context(workspace(HARBOR).id):
        dana = member("dana.reyes@harbor.example")
        sam = member("sam.owens@harbor.example")
        follow_ups = list(
            db.session.execute(
                select(FollowUp).where(FollowUp.status == FollowUpStatus.OPEN)
            ).scalars()
        )
        done = db.session.execute(
            select(FollowUp).where(FollowUp.status == FollowUpStatus.DONE)
        ).scalar_one()
    now, today = clock.now(), NOW.date()

    def when(f: FollowUp) -> str:
        day = f.due_at.astimezone(ZONE).date()
        if f.due_at < now:
            return "overdue"
        if day == today:
            return "today"
        return "this week" if day <= today + timedelta(days=7) else "later"

    danas = Counter(when(f) for f in follow_ups if f.assignee_id == dana.id)
    assert danas["overdue"] == 2 and danas["today"] == 1
    assert danas["this week"] >= 2 and danas["later"] >= 1
    assert any(f.assignee_id == sam.id for f in follow_ups)
    assert any(f.subject_kind == "facility" for f in follow_ups)
    assert sum(1 for f in follow_ups if f.cadence_rrule or f.cadence_days) >= 2

    # Journey 7: the monthly check-in is overdue and continues last month's, done on time
    check_in = next(
        f for f in follow_ups if f.title == "Monthly check-in with the parenting program"
    )
    assert when(check_in) == "overdue" and check_in.assignee_id == dana.id
    assert check_in.cadence_rrule == "FREQ=MONTHLY"
    assert check_in.previous_id == done.id and done.completed_at >= done.due_at
    local = check_in.due_at.astimezone(ZONE)
    assert done.due_at.astimezone(ZONE) == local - relativedelta(months=1)


def test_every_stage_is_the_end_of_a_dated_history(demo):
    with all_workspaces():
        organizations = list(db.session.execute(select(Organization)).scalars())
        changes = list(
            db.session.execute(
                select(StageChange).order_by(StageChange.organization_id, StageChange.changed_at)
            ).scalars()
        )
    history: dict[int, list[StageChange]] = {}
    for change in changes:
        history.setdefault(change.organization_id, []).append(change)
    for organization in organizations:
        steps = history[organization.id]
        assert steps[-1].to_stage is organization.stage, organization.name
        assert [s.to_stage for s in steps] == list(path_to(organization.stage))
        assert [s.from_stage for s in steps] == [None] + [s.to_stage for s in steps[:-1]]
        assert all(s.changed_at < clock.now() for s in steps)
        assert steps[0].changed_at > clock.now() - timedelta(days=450)
        assert steps[-1].changed_by_id is not None


def test_journey_1_parenting_support_was_never_contacted_in_harbor(demo):
    with workspace_context(workspace(HARBOR).id):
        stages = dict(
            db.session.execute(
                select(Organization.name, Organization.stage).where(
                    Organization.name.in_(
                        ["Little Steps Parenting Collective", "Bright Futures Family Services"]
                    )
                )
            ).all()
        )
        assert stages == {
            "Little Steps Parenting Collective": Stage.IDENTIFIED,
            "Bright Futures Family Services": Stage.RESEARCHED,
        }
        logged = db.session.execute(
            select(func.count(Activity.id))
            .join(Organization, Organization.id == Activity.organization_id)
            .where(Organization.stage.in_([Stage.IDENTIFIED, Stage.RESEARCHED]))
        ).scalar_one()
        assert logged == 0


@pytest.mark.parametrize(
    ("local_now", "expected"),
    [
        ("2026-03-11 08:10", "2026-03-11 16:00"),
        ("2026-03-11 16:40", "2026-03-11 17:30"),
        ("2026-03-11 23:30", "2026-03-11 23:59"),
    ],
)
def test_the_follow_up_due_today_is_still_ahead_at_any_hour(local_now, expected):
    moment = datetime.fromisoformat(local_now).replace(tzinfo=ZONE)
    with clock.frozen(moment):
        due = _Calendar("America/Chicago").later_today()
    assert due > moment
    assert due.astimezone(ZONE).strftime("%Y-%m-%d %H:%M") == expected
