"""The world every test starts from: workspaces A and B, a user of each role in each, and in
each workspace two organizations, X (the partner user's own) and Y (someone else's).

Only plain values leave this module (ids, public ids, emails), never ORM objects: a test's
session must load what it uses in its own scope.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from crm import clock
from crm.auth.services import create_user
from crm.extensions import db
from crm.facilities.models import (
    Facility,
    FacilityRule,
    Location,
    LocationKind,
    RuleTopic,
    Sex,
    Unit,
    UnitOfficer,
)
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
from crm.roles import Role
from crm.tenancy import workspace_context
from crm.workspaces.models import Invitation, Membership
from crm.workspaces.services import add_membership, create_workspace

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Member:
    email: str
    password: str
    user_id: int
    role: Role
    membership_public_id: uuid.UUID


@dataclass
class Side:
    """One workspace of the world."""

    key: str
    id: int
    slug: str
    name: str
    members: dict[Role, Member] = field(default_factory=dict)
    # model -> public id of a record owned by the partner's organization X (or X itself)
    own: dict[type, uuid.UUID] = field(default_factory=dict)
    # model -> public id of a record of organization Y, which the partner may not see
    other_org: dict[type, uuid.UUID] = field(default_factory=dict)
    org_x_id: int = 0
    org_y_id: int = 0

    def __getattr__(self, name: str) -> Member:
        try:
            return self.members[Role(name)]
        except (ValueError, KeyError):
            raise AttributeError(name) from None


@dataclass
class World:
    a: Side
    b: Side

    def sides(self):
        return (self.a, self.b)


def _side(key: str, timezone: str) -> Side:
    workspace = create_workspace(f"Workspace {key.upper()} County", timezone)
    side = Side(key=key, id=workspace.id, slug=workspace.slug, name=workspace.name)
    with workspace_context(workspace.id):
        org_x = Organization(
            name=f"{key.upper()} Partner Org X",
            kind=OrganizationKind.CIVIC,
            stage=Stage.ACTIVE,
            mission="Mission X",
            interests="Secret notes X",
        )
        org_y = Organization(
            name=f"{key.upper()} Other Org Y",
            kind=OrganizationKind.FAITH_BASED,
            stage=Stage.IDENTIFIED,
            mission="Mission Y",
            interests="Secret notes Y",
        )
        db.session.add_all([org_x, org_y])
        db.session.flush()
        side.org_x_id, side.org_y_id = org_x.id, org_y.id
        for role in Role:
            user = create_user(f"{role.value}@{key}.example", PASSWORD, name=f"{role.label} {key}")
            membership = add_membership(user, role, org_x.id if role is Role.PARTNER else None)
            side.members[role] = Member(user.email, PASSWORD, user.id, role, membership.public_id)
        # a second partner, of organization Y: the record of someone else's organization
        other = create_user(f"partner-y@{key}.example", PASSWORD, name=f"Partner Y {key}")
        other_membership = add_membership(other, Role.PARTNER, org_y.id)
        side.own[Organization] = org_x.public_id
        side.other_org[Organization] = org_y.public_id
        side.own[Membership] = side.members[Role.PARTNER].membership_public_id
        side.other_org[Membership] = other_membership.public_id
        for records, org in ((side.own, org_x), (side.other_org, org_y)):
            invitation = Invitation(
                email=f"invited-{org.id}@{key}.example",
                role=Role.PARTNER,
                organization_id=org.id,
                secret_hash="0" * 64,
                expires_at=clock.now() + timedelta(days=3),
            )
            db.session.add(invitation)
            db.session.flush()
            records[Invitation] = invitation.public_id
        _crm_records(side, org_x, org_y, timezone)
    return side


def build_world() -> World:
    return World(a=_side("a", "America/Chicago"), b=_side("b", "America/New_York"))


def _crm_records(side: Side, org_x: Organization, org_y: Organization, timezone: str) -> None:
    """A record of every model of the CRM core, for the route walk and the tests."""
    staff = side.members[Role.STAFF]
    staff_membership = db.session.execute(
        select(Membership).where(Membership.public_id == staff.membership_public_id)
    ).scalar_one()
    facility = Facility(name=f"{side.key.upper()} County Jail", timezone=timezone, capacity=120)
    db.session.add(facility)
    db.session.flush()
    unit = Unit(facility_id=facility.id, name="Unit F", sex=Sex.FEMALE, capacity=40)
    location = Location(
        facility_id=facility.id, name="Classroom 1", kind=LocationKind.CLASSROOM, capacity=15
    )
    rule = FacilityRule(
        facility_id=facility.id, topic=RuleTopic.PHONES, text="Phones stay in the lobby lockers."
    )
    db.session.add_all([unit, location, rule])
    db.session.flush()
    db.session.add(UnitOfficer(unit_id=unit.id, membership_id=staff_membership.id))
    for records in (side.own, side.other_org):
        records[Facility] = facility.public_id
        records[Unit] = unit.public_id
        records[Location] = location.public_id
        records[FacilityRule] = rule.public_id
    for records, org in ((side.own, org_x), (side.other_org, org_y)):
        contact = Contact(
            organization_id=org.id,
            name=f"Director of {org.name}",
            email=f"director{org.id}@{side.key}.example",
            notes="Staff notes",
        )
        db.session.add(contact)
        db.session.flush()
        activity = Activity(
            organization_id=org.id,
            kind=ActivityKind.CALL,
            occurred_at=clock.now() - timedelta(days=2),
            author_id=staff_membership.id,
            summary=f"Called {org.name}",
        )
        db.session.add(activity)
        db.session.flush()
        db.session.add(ActivityAttendee(activity_id=activity.id, contact_id=contact.id))
        change = StageChange(
            organization_id=org.id,
            from_stage=None,
            to_stage=org.stage,
            changed_by_id=staff_membership.id,
        )
        follow_up = FollowUp(
            subject_kind="organization",
            subject_id=org.public_id,
            title=f"Call {org.name}",
            assignee_id=staff_membership.id,
            due_at=clock.now() + timedelta(days=1),
            timezone=timezone,
        )
        db.session.add_all([change, follow_up])
        db.session.flush()
        records[Contact] = contact.public_id
        records[Activity] = activity.public_id
        records[StageChange] = change.public_id
        records[FollowUp] = follow_up.public_id
