"""Organization: a community partner, its kind and its stage in the pipeline."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from crm.database import Timestamped
from crm.extensions import db
from crm.tenancy import OrganizationRoot


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


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(
        cls,
        native_enum=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        create_constraint=True,
        name=name,
    )


def name_key(name: str) -> str:
    """The search form of a name: case-folded with runs of spaces collapsed."""
    return " ".join(name.split()).casefold()


class Organization(OrganizationRoot, Timestamped, db.Model):
    __tablename__ = "organizations"
    __staff_only__ = ("interests", "owner_id", "owner")
    __audit_exclude__ = ("name_key",)  # derived from name, which is recorded
    __table_args__ = (
        # workspace first: every list is one workspace's; name_key serves prefix search and sort
        Index("ix_organizations_workspace_id_name_key", "workspace_id", "name_key"),
        Index("ix_organizations_workspace_id_stage_name_key", "workspace_id", "stage", "name_key"),
        Index("ix_organizations_workspace_id_kind_name_key", "workspace_id", "kind", "name_key"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Binary collation on both databases, so a prefix is a plain index range (see services).
    name_key: Mapped[str] = mapped_column(
        String(200).with_variant(String(200, collation="C"), "postgresql"), nullable=False
    )
    kind: Mapped[OrganizationKind] = mapped_column(_enum(OrganizationKind, "organization_kind"))
    stage: Mapped[Stage] = mapped_column(
        _enum(Stage, "organization_stage"), nullable=False, default=Stage.IDENTIFIED
    )
    mission: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Research notes of step 5: what staff learned of the organization. Staff-only.
    interests: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # The staff member who keeps the relationship going. Staff-only.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL", use_alter=True), index=True
    )
    owner = relationship("Membership", foreign_keys=[owner_id], lazy="raise")

    @validates("name")
    def _keep_name_key(self, _key: str, value: str) -> str:
        self.name_key = name_key(value)
        return value

    def __repr__(self) -> str:
        return f"<Organization {self.public_id}>"
