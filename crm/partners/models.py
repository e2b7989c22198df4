"""Organization: a community partner, its kind and its stage in the pipeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from crm import clock
from crm.database import Timestamped, enum_column
from crm.extensions import db
from crm.tenancy import OrganizationOwned, OrganizationRoot, StaffOnly, WorkspaceScoped


class OrganizationKind(StrEnum):
    CIVIC = "civic"
    FAITH_BASED = "faith_based"
    MENTAL_HEALTH = "mental_health"
    WOMENS_HEALTH = "womens_health"
    RAPE_CRISIS = "rape_crisis"
    SUBSTANCE_USE = "substance_use"
    HALFWAY_HOUSE = "halfway_house"
    HUMAN_SERVICES = "human_services"
    CHILD_WELFARE = "child_welfare"
    JOB_SKILLS = "job_skills"
    PRETRIAL = "pretrial"
    PROBATION_PAROLE = "probation_parole"
    PEER_SUPPORT = "peer_support"
    OTHER = "other"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    OrganizationKind.CIVIC: "Civic / volunteer",
    OrganizationKind.FAITH_BASED: "Faith-based",
    OrganizationKind.MENTAL_HEALTH: "Community mental health",
    OrganizationKind.WOMENS_HEALTH: "Women's health",
    OrganizationKind.RAPE_CRISIS: "Rape crisis",
    OrganizationKind.SUBSTANCE_USE: "Substance use / AA-NA",
    OrganizationKind.HALFWAY_HOUSE: "Halfway house",
    OrganizationKind.HUMAN_SERVICES: "Social / human services",
    OrganizationKind.CHILD_WELFARE: "Child welfare",
    OrganizationKind.JOB_SKILLS: "Job skills / placement",
    OrganizationKind.PRETRIAL: "Pretrial services",
    OrganizationKind.PROBATION_PAROLE: "Probation / parole",
    OrganizationKind.PEER_SUPPORT: "Peer support",
    OrganizationKind.OTHER: "Other",
}


class Stage(StrEnum):
    """The pipeline of the tip sheet's steps 4-7, then the life of the partnership."""

    IDENTIFIED = "identified"
    RESEARCHED = "researched"
    CONTACTED = "contacted"
    TOURED = "toured"
    CROSS_TRAINED = "cross_trained"
    AGREEMENT = "agreement"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"

    @property
    def label(self) -> str:
        return self.value.replace("_", "-").capitalize()


def name_key(name: str) -> str:
    """The search form of a name: case-folded with runs of spaces collapsed."""
    return " ".join(name.split()).casefold()


class Organization(OrganizationRoot, Timestamped, db.Model):
    __tablename__ = "organizations"
    __staff_only__ = ("interests", "owner_id", "owner", "stage_changes", "activities")
    __audit_exclude__ = ("name_key",)  # derived from name, which is recorded
    __table_args__ = (
        # workspace first: every list is one workspace's; name_key serves prefix search and sort;
        # id last matches the lists' tie-break, so PostgreSQL reads pages without a sort step
        Index("ix_organizations_workspace_id_name_key", "workspace_id", "name_key", "id"),
        Index(
            "ix_organizations_workspace_id_stage_name_key",
            "workspace_id",
            "stage",
            "name_key",
            "id",
        ),
        Index(
            "ix_organizations_workspace_id_kind_name_key", "workspace_id", "kind", "name_key", "id"
        ),
        # the list sorted by "recently updated", read backwards
        Index("ix_organizations_workspace_id_updated_at", "workspace_id", "updated_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Binary collation on both databases, so a prefix is a plain index range (see services).
    name_key: Mapped[str] = mapped_column(
        String(200).with_variant(String(200, collation="C"), "postgresql"), nullable=False
    )
    kind: Mapped[OrganizationKind] = mapped_column(
        enum_column(OrganizationKind, "organization_kind")
    )
    stage: Mapped[Stage] = mapped_column(
        enum_column(Stage, "organization_stage"), nullable=False, default=Stage.IDENTIFIED
    )
    mission: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Research notes of step 5: what staff learned of the organization. Staff-only.
    interests: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # The staff member who keeps the relationship going. Staff-only.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL", use_alter=True), index=True
    )
    owner = relationship("Membership", foreign_keys=[owner_id], lazy="raise")
    website: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    phone: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    phone_alt: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    address: Mapped[str] = mapped_column(Text, nullable=False, default="")
    values: Mapped[str] = mapped_column(Text, nullable=False, default="")
    clients_served: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Archived organizations leave lists but keep their history (contacts, activities).
    archived_at: Mapped[datetime | None]

    stage_changes: Mapped[list[StageChange]] = relationship(
        order_by="StageChange.changed_at", lazy="raise", passive_deletes=True
    )
    activities: Mapped[list[Activity]] = relationship(lazy="raise", passive_deletes=True)

    @validates("name")
    def _keep_name_key(self, _key: str, value: str) -> str:
        self.name_key = name_key(value)
        return value

    def __repr__(self) -> str:
        return f"<Organization {self.public_id}>"


class StageChange(OrganizationOwned, StaffOnly, db.Model):
    """A dated move of an organization through the pipeline, and who made it."""

    __tablename__ = "stage_changes"
    __table_args__ = (
        Index(
            "ix_stage_changes_workspace_id_organization_id_changed_at",
            "workspace_id",
            "organization_id",
            "changed_at",
        ),
    )

    from_stage: Mapped[Stage | None] = mapped_column(enum_column(Stage, "from_stage"))
    to_stage: Mapped[Stage] = mapped_column(enum_column(Stage, "to_stage"), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(default=clock.now, nullable=False)
    changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL")
    )
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")

    changed_by = relationship("Membership", lazy="raise")


class Contact(OrganizationOwned, Timestamped, db.Model):
    """A person at an organization: director, facilitator, volunteer, visitor."""

    __tablename__ = "contacts"
    __staff_only__ = ("notes",)
    __table_args__ = (
        Index(
            "ix_contacts_workspace_id_organization_id_name_key",
            "workspace_id",
            "organization_id",
            "name_key",
        ),
        Index("ix_contacts_user_id", "user_id"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_key: Mapped[str] = mapped_column(String(200), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    phone: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    phone_alt: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    # The contact's own login, when they have one (a partner user).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    archived_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship(lazy="raise")

    @validates("name")
    def _keep_name_key(self, _key: str, value: str) -> str:
        self.name_key = name_key(value)
        return value


class ActivityKind(StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    TOUR = "tour"  # step 6
    CROSS_TRAINING = "cross_training"  # step 7
    VISIT = "visit"
    NOTE = "note"

    @property
    def label(self) -> str:
        return self.value.replace("_", "-").capitalize()


class Activity(OrganizationOwned, StaffOnly, Timestamped, db.Model):
    """The outreach log: what happened with an organization, and what comes next."""

    __tablename__ = "activities"
    __table_args__ = (
        Index(
            "ix_activities_workspace_id_organization_id_occurred_at",
            "workspace_id",
            "organization_id",
            "occurred_at",
        ),
    )

    kind: Mapped[ActivityKind] = mapped_column(
        enum_column(ActivityKind, "activity_kind"), nullable=False
    )
    occurred_at: Mapped[datetime] = mapped_column(nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("memberships.id", ondelete="SET NULL"))
    # Where a tour or cross-training took place.
    facility_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities.id", ondelete="SET NULL")
    )
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    outcome: Mapped[str] = mapped_column(Text, nullable=False, default="")
    next_step: Mapped[str] = mapped_column(Text, nullable=False, default="")

    author = relationship("Membership", lazy="raise")
    facility = relationship("Facility", lazy="raise")
    attendees: Mapped[list[ActivityAttendee]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", lazy="raise"
    )


class ActivityAttendee(WorkspaceScoped, StaffOnly, db.Model):
    """Who took part: a contact of the organization or a staff member, never both."""

    __tablename__ = "activity_attendees"
    __table_args__ = (
        Index("ix_activity_attendees_workspace_id_activity_id", "workspace_id", "activity_id"),
        CheckConstraint("(contact_id IS NULL) <> (membership_id IS NULL)", name="contact_or_staff"),
    )

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), nullable=False
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    membership_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE")
    )

    activity: Mapped[Activity] = relationship(back_populates="attendees", lazy="raise")
    contact = relationship("Contact", lazy="raise")
    membership = relationship("Membership", lazy="raise")
