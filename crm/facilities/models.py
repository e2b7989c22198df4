"""Facility, Unit (and its assigned officers), Location, FacilityRule."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.database import Timestamped, enum_column
from crm.extensions import db
from crm.tenancy import WorkspaceScoped


class Sex(StrEnum):
    """The sex of a unit's population: units of different sexes never share a room at once."""

    FEMALE = "female"
    MALE = "male"

    @property
    def label(self) -> str:
        return {"female": "Women", "male": "Men"}[self.value]


class LocationKind(StrEnum):
    CLASSROOM = "classroom"
    CHAPEL = "chapel"
    DAYROOM = "dayroom"
    VISITING_ROOM = "visiting_room"
    GYM = "gym"
    MEDICAL = "medical"
    OTHER = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class RuleTopic(StrEnum):
    PHONES = "phones"
    IDENTIFICATION = "identification"
    DRESS = "dress"
    MATERIALS = "materials"
    EMERGENCY = "emergency"
    CONDUCT = "conduct"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "phones": "Phones and devices",
            "identification": "Identification",
            "dress": "Dress code",
            "materials": "Materials brought in",
            "emergency": "Emergency protocol",
            "conduct": "Conduct",
            "other": "Other",
        }[self.value]


class Facility(WorkspaceScoped, Timestamped, db.Model):
    """A jail. Its sessions and follow-ups are shown in its own time zone."""

    __tablename__ = "facilities"
    __table_args__ = (Index("ix_facilities_workspace_id_name", "workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    address: Mapped[str] = mapped_column(Text, nullable=False, default="")
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    capacity: Mapped[int | None]
    archived_at: Mapped[datetime | None]

    units: Mapped[list[Unit]] = relationship(
        back_populates="facility", order_by="Unit.name", lazy="raise"
    )

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Unit(WorkspaceScoped, Timestamped, db.Model):
    """A housing unit; its assigned officers get its call-out emails."""

    __tablename__ = "units"
    __table_args__ = (
        Index("ix_units_workspace_id_facility_id_name", "workspace_id", "facility_id", "name"),
    )

    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    sex: Mapped[Sex] = mapped_column(enum_column(Sex, "unit_sex"), nullable=False)
    capacity: Mapped[int | None]
    archived_at: Mapped[datetime | None]

    facility: Mapped[Facility] = relationship(back_populates="units", lazy="raise")
    officers: Mapped[list[UnitOfficer]] = relationship(
        back_populates="unit", cascade="all, delete-orphan", lazy="raise"
    )

    @property
    def is_female(self) -> bool:
        return self.sex is Sex.FEMALE


class UnitOfficer(WorkspaceScoped, db.Model):
    """A staff member assigned to a unit."""

    __tablename__ = "unit_officers"
    __table_args__ = (
        Index(
            "uq_unit_officers_workspace_id_unit_id_membership_id",
            "workspace_id",
            "unit_id",
            "membership_id",
            unique=True,
        ),
        Index("ix_unit_officers_workspace_id_membership_id", "workspace_id", "membership_id"),
    )

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), nullable=False)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), nullable=False
    )

    unit: Mapped[Unit] = relationship(back_populates="officers", lazy="raise")
    membership = relationship("Membership", lazy="raise")


class Location(WorkspaceScoped, Timestamped, db.Model):
    """A room inside a facility where programs meet."""

    __tablename__ = "locations"
    __table_args__ = (
        Index("ix_locations_workspace_id_facility_id_name", "workspace_id", "facility_id", "name"),
    )

    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[LocationKind] = mapped_column(
        enum_column(LocationKind, "location_kind"), nullable=False
    )
    capacity: Mapped[int | None]
    archived_at: Mapped[datetime | None]

    facility: Mapped[Facility] = relationship(lazy="raise")


class FacilityRule(WorkspaceScoped, Timestamped, db.Model):
    """What visitors must know before they come in."""

    __tablename__ = "facility_rules"
    __table_args__ = (
        Index("ix_facility_rules_workspace_id_facility_id", "workspace_id", "facility_id"),
    )

    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), nullable=False
    )
    topic: Mapped[RuleTopic] = mapped_column(enum_column(RuleTopic, "rule_topic"), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    archived_at: Mapped[datetime | None]

    facility: Mapped[Facility] = relationship(lazy="raise")
