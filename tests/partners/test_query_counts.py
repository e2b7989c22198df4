"""Pages cost the same however many rows they show (tests/querycount.py): never a query per
organization, contact, activity, stage change or follow-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm import clock
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.partners.models import (
    Activity,
    ActivityAttendee,
    ActivityKind,
    Contact,
    Organization,
    OrganizationKind,
    Stage,
    StageChange,
)
from crm.partners.services import OrganizationInput, create_organization
from crm.tenancy import workspace_context
from crm.workspaces.models import Membership
from tests.querycount import count_queries, queries_of

STAGES = list(Stage)


def membership_ids(world) -> list[int]:
    publics = [world.a.staff.membership_public_id, world.a.admin.membership_public_id]
    return list(
        db.session.execute(select(Membership.id).where(Membership.public_id.in_(publics))).scalars()
    )


def add_organizations(app, world, n: int, start: int = 0) -> None:
    """n organizations over every stage and both owners (the list shows owners)."""
    with app.app_context(), workspace_context(world.a.id):
        owners = [str(world.a.staff.membership_public_id), str(world.a.admin.membership_public_id)]
        for i in range(start, start + n):
            create_organization(
                OrganizationInput(
                    name=f"Counted {i:03d}",
                    kind=list(OrganizationKind)[i % len(OrganizationKind)],
                    stage=STAGES[i % len(STAGES)],
                    owner=owners[i % 2],
                )
            )
        db.session.commit()


def grow_organization_x(app, world, n: int) -> None:
    """n more contacts, activities (each with a contact and a staff attendee), stage changes
    and follow-ups (with alternating assignees) on organization X."""
    with app.app_context(), workspace_context(world.a.id):
        members = membership_ids(world)
        organization = db.session.execute(
            select(Organization).where(Organization.id == world.a.org_x_id)
        ).scalar_one()
        for i in range(n):
            contact = Contact(organization_id=organization.id, name=f"Person {i}", phone="555 0100")
            db.session.add(contact)
            db.session.flush()
            activity = Activity(
                organization_id=organization.id,
                kind=ActivityKind.MEETING,
                occurred_at=clock.now() - timedelta(days=i + 3),
                author_id=members[i % 2],
                summary=f"Meeting {i}",
            )
            db.session.add(activity)
            db.session.flush()
            db.session.add_all(
                [
                    ActivityAttendee(activity_id=activity.id, contact_id=contact.id),
                    ActivityAttendee(activity_id=activity.id, membership_id=members[(i + 1) % 2]),
                    StageChange(
                        organization_id=organization.id,
                        from_stage=Stage.ACTIVE,
                        to_stage=Stage.ACTIVE,
                        changed_by_id=members[i % 2],
                        note=f"Change {i}",
                    ),
                    FollowUp(
                        subject_kind="organization",
                        subject_id=organization.public_id,
                        title=f"Follow up {i}",
                        assignee_id=members[i % 2],
                        due_at=clock.now() + timedelta(days=i + 1),
                        timezone="America/Chicago",
                    ),
                ]
            )
        db.session.commit()


@pytest.mark.parametrize("role", ["admin", "viewer", "partner"])
def test_the_organization_page_costs_the_same_with_1_or_40_of_everything(app, world, login, role):
    url = f"/partners/{world.a.own[Organization]}"
    client = login(getattr(world.a, role))
    small = queries_of(app, client, url)
    grow_organization_x(app, world, 39)  # the world's one of each, plus 39
    large = queries_of(app, client, url)
    body = client.get(url).get_data(as_text=True)
    if role == "admin":
        assert "Meeting 38" in body and "Change 38" in body and "Follow up 38" in body
    assert "Person 38" in body
    assert large == small, (small, large)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?sort=stage",
        "?sort=updated",
        "?sort=stage&page=2",
        "?owner=mine&sort=stage",
        "?kind=civic&archived=y",
    ],
)
@pytest.mark.parametrize("role", ["staff", "viewer"])
def test_the_list_costs_the_same_with_5_or_120_organizations(
    app, world, login, monkeypatch, role, query
):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 3)  # a second page with 5 as with 120
    client = login(getattr(world.a, role))
    add_organizations(app, world, 5)
    url = f"/partners/{query}"
    small = queries_of(app, client, url)
    add_organizations(app, world, 115, start=5)
    large = queries_of(app, client, url)
    assert large == small, (small, large)


@pytest.mark.parametrize("role", ["staff", "viewer"])
def test_the_pipeline_costs_the_same_with_5_or_120_organizations(app, world, login, role):
    client = login(getattr(world.a, role))
    add_organizations(app, world, 5)
    small = queries_of(app, client, "/partners/pipeline")
    add_organizations(app, world, 115, start=5)
    large = queries_of(app, client, "/partners/pipeline")
    assert large == small, (small, large)


def test_the_export_reads_in_batches_not_per_row(app, world, login, monkeypatch):
    from crm.partners import views

    monkeypatch.setattr(views, "EXPORT_BATCH", 50)
    client = login(world.a.staff)
    add_organizations(app, world, 120)
    client.get("/partners/export.csv").get_data()
    with count_queries(app) as statements:
        response = client.get("/partners/export.csv")
        rows = response.get_data(as_text=True).count("\r\n") - 1
    assert rows == 122
    selects = [s for s in statements if "FROM organizations" in s]
    # the count, then 122 rows in batches of 50: three batches and the empty read after them
    assert len(selects) <= 1 + 4, len(selects)
