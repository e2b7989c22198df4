"""Facilities, their units (with assigned officers), rooms and visitor rules: lists, pages,
create, edit, archive and restore. Every query here is workspace-scoped by the tenancy
listener; nothing in this module names a workspace.

Records other records will reference (sessions, closures, programs, agreements) are archived,
never deleted: an archived record keeps its rows and references, leaves the lists and choices,
and is read-only until restored. Archiving a facility cancels the follow-ups about it and
changes nothing else.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import joinedload, selectinload

from crm import clock
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
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.services import cancel_for_subject
from crm.roles import JAIL_ROLES
from crm.tenancy import current_workspace_id
from crm.web.pagination import Page, paginate
from crm.workspaces.models import Membership, Workspace
from crm.workspaces.services import WorkspaceError, check_timezone

FACILITY_NAME_MAX = 200
# Units and rooms are named in 100 characters (the columns' size in migration 0003).
UNIT_NAME_MAX = 100
LOCATION_NAME_MAX = 100
ADDRESS_MAX = 1_000
RULE_TEXT_MAX = 10_000
TIMEZONE_MAX = 64
CAPACITY_MAX = 100_000
OFFICERS_MAX = 200  # more ids than any workspace has staff: a forged form, not a choice

CAPACITY_MESSAGE = f"Enter a whole number from 0 to {CAPACITY_MAX:,}, or leave it empty."
TIMEZONE_MESSAGE = "Use a time zone name from the list, like America/Chicago."
OFFICERS_MESSAGE = "Choose officers from the list of staff and admins."
NUL_MESSAGE = "Remove the invisible NUL character from this text."
# ASCII digits only (int() would also take "٣" or "1_0"), optionally grouped as in "1,200".
_WHOLE_NUMBER = re.compile(r"[0-9]{1,7}|[0-9]{1,3}(,[0-9]{3}){1,2}")


class InvalidInput(ValueError):
    """Field errors of a write; each message is safe to show next to its field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class WriteRefused(ValueError):
    """A write the record's state does not allow now (it, or its facility, is archived; a
    restored unit would take a name in use). The message says what to do first."""


# --- inputs and their checks ----------------------------------------------------------------


@dataclass
class FacilityInput:
    name: str
    timezone: str = ""  # an IANA name; empty means the workspace's zone
    address: str = ""
    capacity: int | str | None = None


@dataclass
class UnitInput:
    name: str
    sex: Sex | str
    capacity: int | str | None = None
    officers: list[uuid.UUID | str] = field(default_factory=list)  # membership public ids


@dataclass
class LocationInput:
    name: str
    kind: LocationKind | str
    capacity: int | str | None = None


@dataclass
class RuleInput:
    topic: RuleTopic | str
    text: str


def _name(errors: dict[str, str], value: str | None, limit: int, missing: str) -> str:
    name = " ".join((value or "").split())
    if not name:
        errors["name"] = missing
    elif len(name) > limit:
        errors["name"] = f"Use at most {limit} characters."
    elif "\x00" in name:
        errors["name"] = NUL_MESSAGE
    return name


def _capacity(errors: dict[str, str], value: int | str | None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        errors["capacity"] = CAPACITY_MESSAGE
        return None
    if isinstance(value, str):
        text = value.strip()
        if not _WHOLE_NUMBER.fullmatch(text):
            errors["capacity"] = CAPACITY_MESSAGE
            return None
        value = int(text.replace(",", ""))
    if not isinstance(value, int) or not 0 <= value <= CAPACITY_MAX:
        errors["capacity"] = CAPACITY_MESSAGE
        return None
    return value


def _choice(errors: dict[str, str], key: str, enum: type, value, message: str):
    try:
        return enum(value)
    except ValueError:
        errors[key] = message
        return None


def _timezone(errors: dict[str, str], value: str | None, *, new: bool) -> str:
    name = (value or "").strip()
    if not name and new:  # a new facility keeps the workspace's clock unless told otherwise
        return db.session.get(Workspace, current_workspace_id()).timezone
    if not name:
        errors["timezone"] = "Choose the facility's time zone."
        return name
    if len(name) > TIMEZONE_MAX or "\x00" in name:
        errors["timezone"] = TIMEZONE_MESSAGE
        return name
    try:
        return check_timezone(name)
    except WorkspaceError:
        errors["timezone"] = TIMEZONE_MESSAGE
        return name


def _clean_facility(data: FacilityInput, *, new: bool) -> dict:
    errors: dict[str, str] = {}
    name = _name(errors, data.name, FACILITY_NAME_MAX, "Enter the facility's name.")
    address = (data.address or "").strip()
    if len(address) > ADDRESS_MAX:
        errors["address"] = f"Use at most {ADDRESS_MAX:,} characters."
    elif "\x00" in address:
        errors["address"] = NUL_MESSAGE
    timezone = _timezone(errors, data.timezone, new=new)
    capacity = _capacity(errors, data.capacity)
    if errors:
        raise InvalidInput(errors)
    return {"name": name, "address": address, "timezone": timezone, "capacity": capacity}


def _clean_unit(data: UnitInput, facility: Facility, unit: Unit | None) -> tuple[dict, list[int]]:
    errors: dict[str, str] = {}
    name = _name(errors, data.name, UNIT_NAME_MAX, "Enter the unit's name.")
    if "name" not in errors and _name_taken(Unit, facility, name, unit):
        errors["name"] = "Another unit of this facility has this name."
    sex = _choice(errors, "sex", Sex, data.sex, "Choose the sex of the unit's population.")
    capacity = _capacity(errors, data.capacity)
    officers = _officer_ids(errors, data.officers)
    if errors:
        raise InvalidInput(errors)
    return {"name": name, "sex": sex, "capacity": capacity}, officers


def _clean_location(data: LocationInput, facility: Facility, location: Location | None) -> dict:
    errors: dict[str, str] = {}
    name = _name(errors, data.name, LOCATION_NAME_MAX, "Enter the room's name.")
    if "name" not in errors and _name_taken(Location, facility, name, location):
        errors["name"] = "Another room of this facility has this name."
    kind = _choice(errors, "kind", LocationKind, data.kind, "Choose a kind of room from the list.")
    capacity = _capacity(errors, data.capacity)
    if errors:
        raise InvalidInput(errors)
    return {"name": name, "kind": kind, "capacity": capacity}


def _clean_rule(data: RuleInput) -> dict:
    errors: dict[str, str] = {}
    topic = _choice(errors, "topic", RuleTopic, data.topic, "Choose a topic from the list.")
    text = (data.text or "").strip()
    if not text:
        errors["text"] = "Write what visitors must know."
    elif len(text) > RULE_TEXT_MAX:
        errors["text"] = f"Use at most {RULE_TEXT_MAX:,} characters."
    elif "\x00" in text:
        errors["text"] = NUL_MESSAGE
    if errors:
        raise InvalidInput(errors)
    return {"topic": topic, "text": text}


def _name_taken(model: type, facility: Facility, name: str, record) -> bool:
    """Two live units (or rooms) of one facility never share a name, in any case: a call-out
    list or a schedule must say which one it means."""
    if facility.id is None:
        return False
    statement = select(model.id, model.name).where(
        model.facility_id == facility.id, model.archived_at.is_(None)
    )
    wanted = name.casefold()
    return any(
        row.name.casefold() == wanted
        for row in db.session.execute(statement)
        if record is None or row.id != record.id
    )


def _officer_ids(errors: dict[str, str], officers: Iterable[uuid.UUID | str] | None) -> list[int]:
    """Membership ids of the chosen staff and admins of this workspace. A partner, a viewer,
    another workspace's member or a made-up id is "not in the list", all alike."""
    wanted: list[uuid.UUID] = []
    for value in officers or ():
        try:
            public_id = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        except ValueError:
            errors["officers"] = OFFICERS_MESSAGE
            return []
        if public_id not in wanted:
            wanted.append(public_id)
    if not wanted:
        return []
    if len(wanted) > OFFICERS_MAX:
        errors["officers"] = OFFICERS_MESSAGE
        return []
    found = dict(
        db.session.execute(
            select(Membership.public_id, Membership.id).where(
                Membership.public_id.in_(wanted), Membership.role.in_(JAIL_ROLES)
            )
        ).all()
    )
    if len(found) != len(wanted):
        errors["officers"] = OFFICERS_MESSAGE
        return []
    return [found[public_id] for public_id in wanted]


def require_live(facility: Facility, record=None, what: str = "") -> None:
    """WriteRefused when the facility (or the record itself) is archived."""
    if facility.archived_at is not None:
        raise WriteRefused(
            f"{facility.name} is archived: restore it first to change its units, rooms or rules."
        )
    if record is not None and record.archived_at is not None:
        raise WriteRefused(f"This {what} is archived: restore it first to change it.")


# --- reading --------------------------------------------------------------------------------


def list_facilities(*, include_archived: bool = False, page: int = 1, per_page: int = 50) -> Page:
    """Facilities by name with their units (two statements, whatever the number of units)."""
    statement = (
        select(Facility).options(selectinload(Facility.units)).order_by(Facility.name, Facility.id)
    )
    if not include_archived:
        statement = statement.where(Facility.archived_at.is_(None))
    return paginate(statement, page, per_page)


@dataclass(frozen=True)
class FacilityPage:
    """Everything the facility page shows, loaded in a fixed number of statements."""

    facility: Facility
    units: list[Unit]
    locations: list[Location]
    rules: dict[RuleTopic, list[FacilityRule]]  # live rules by topic, topics in their order
    archived_units: list[Unit]
    archived_locations: list[Location]
    archived_rules: list[FacilityRule]
    open_follow_ups: int


def facility_page(public_id: uuid.UUID) -> FacilityPage | None:
    facility = db.session.execute(
        select(Facility)
        .where(Facility.public_id == public_id)
        .options(
            selectinload(Facility.units)
            .selectinload(Unit.officers)
            .selectinload(UnitOfficer.membership)
        )
    ).scalar_one_or_none()
    if facility is None:
        return None
    locations = list(
        db.session.execute(
            select(Location)
            .where(Location.facility_id == facility.id)
            .order_by(Location.name, Location.id)
        ).scalars()
    )
    rules = list(
        db.session.execute(
            select(FacilityRule)
            .where(FacilityRule.facility_id == facility.id)
            .order_by(FacilityRule.created_at, FacilityRule.id)
        ).scalars()
    )
    by_topic: dict[RuleTopic, list[FacilityRule]] = {}
    for topic in RuleTopic:
        live = [r for r in rules if r.topic is topic and r.archived_at is None]
        if live:
            by_topic[topic] = live
    return FacilityPage(
        facility=facility,
        units=[u for u in facility.units if u.archived_at is None],
        locations=[loc for loc in locations if loc.archived_at is None],
        rules=by_topic,
        archived_units=[u for u in facility.units if u.archived_at is not None],
        archived_locations=[loc for loc in locations if loc.archived_at is not None],
        archived_rules=[r for r in rules if r.archived_at is not None],
        open_follow_ups=open_follow_ups_about(facility),
    )


def open_follow_ups_about(facility: Facility) -> int:
    """What archiving would cancel (nothing for viewers and partners, who see no follow-ups)."""
    return db.session.execute(
        select(func.count(FollowUp.id)).where(
            FollowUp.subject_kind == "facility",
            FollowUp.subject_id == facility.public_id,
            FollowUp.status.in_([FollowUpStatus.OPEN, FollowUpStatus.SNOOZED]),
        )
    ).scalar_one()


def load_unit(public_id: uuid.UUID) -> Unit | None:
    """A unit with its facility and assigned officers, for its form."""
    return db.session.execute(
        select(Unit)
        .where(Unit.public_id == public_id)
        .options(joinedload(Unit.facility), selectinload(Unit.officers))
    ).scalar_one_or_none()


def load_location(public_id: uuid.UUID) -> Location | None:
    return db.session.execute(
        select(Location)
        .where(Location.public_id == public_id)
        .options(joinedload(Location.facility))
    ).scalar_one_or_none()


def load_rule(public_id: uuid.UUID) -> FacilityRule | None:
    return db.session.execute(
        select(FacilityRule)
        .where(FacilityRule.public_id == public_id)
        .options(joinedload(FacilityRule.facility))
    ).scalar_one_or_none()


def officer_choices() -> list[Membership]:
    """Staff and admins of the current workspace, who can be assigned to a unit, by name."""
    members = db.session.execute(
        select(Membership).where(Membership.role.in_(JAIL_ROLES))
    ).scalars()
    return sorted(members, key=lambda m: ((m.user.name or m.user.email).casefold(), m.id))


# --- facilities -----------------------------------------------------------------------------


def create_facility(data: FacilityInput) -> Facility:
    """A new facility; with no time zone given it keeps the workspace's."""
    facility = Facility(**_clean_facility(data, new=True))
    db.session.add(facility)
    db.session.flush()
    return facility


def update_facility(facility: Facility, data: FacilityInput) -> Facility:
    require_live(facility)
    for key, value in _clean_facility(data, new=False).items():
        setattr(facility, key, value)
    db.session.flush()
    return facility


def archive_facility(facility: Facility) -> int:
    """Take a facility out of lists and choices, and cancel the open follow-ups about it.
    Its units, rooms and rules stay as they are. Returns how many follow-ups were cancelled."""
    if facility.archived_at is not None:
        return 0
    facility.archived_at = clock.now()
    cancelled = cancel_for_subject("facility", facility.public_id)
    db.session.flush()
    return cancelled


def restore_facility(facility: Facility) -> Facility:
    """Back in the lists; the follow-ups cancelled by archiving stay cancelled."""
    facility.archived_at = None
    db.session.flush()
    return facility


# --- units ----------------------------------------------------------------------------------


def create_unit(facility: Facility, data: UnitInput) -> Unit:
    require_live(facility)
    values, officer_ids = _clean_unit(data, facility, None)
    unit = Unit(facility_id=facility.id, **values)
    db.session.add(unit)
    db.session.flush()
    db.session.add_all(UnitOfficer(unit_id=unit.id, membership_id=i) for i in officer_ids)
    db.session.flush()
    return unit


def update_unit(unit: Unit, data: UnitInput) -> Unit:
    """New name, sex, capacity; the assigned officers become exactly the chosen ones."""
    facility = _facility_of(unit)
    require_live(facility, unit, "unit")
    values, officer_ids = _clean_unit(data, facility, unit)
    for key, value in values.items():
        setattr(unit, key, value)
    current = list(
        db.session.execute(select(UnitOfficer).where(UnitOfficer.unit_id == unit.id)).scalars()
    )
    kept = {o.membership_id for o in current}
    for officer in current:
        if officer.membership_id not in officer_ids:
            db.session.delete(officer)
    db.session.add_all(
        UnitOfficer(unit_id=unit.id, membership_id=i) for i in officer_ids if i not in kept
    )
    db.session.flush()
    db.session.expire(unit, ["officers"])
    return unit


def archive_part(part: Unit | Location) -> Unit | Location:
    """A unit or room out of the facility's live ones; its officers and references stay."""
    require_live(_facility_of(part))
    if part.archived_at is None:
        part.archived_at = clock.now()
    db.session.flush()
    return part


def restore_part(part: Unit | Location) -> Unit | Location:
    """A unit or room back among the live ones, unless a live one has taken its name."""
    facility = _facility_of(part)
    require_live(facility)
    if part.archived_at is not None:
        if _name_taken(type(part), facility, part.name, part):
            noun = "unit" if isinstance(part, Unit) else "room"
            raise WriteRefused(
                f"Another {noun} of {facility.name} is called {part.name} now: "
                "rename or archive that one first."
            )
        part.archived_at = None
    db.session.flush()
    return part


# --- locations ------------------------------------------------------------------------------


def create_location(facility: Facility, data: LocationInput) -> Location:
    require_live(facility)
    location = Location(facility_id=facility.id, **_clean_location(data, facility, None))
    db.session.add(location)
    db.session.flush()
    return location


def update_location(location: Location, data: LocationInput) -> Location:
    facility = _facility_of(location)
    require_live(facility, location, "room")
    for key, value in _clean_location(data, facility, location).items():
        setattr(location, key, value)
    db.session.flush()
    return location


# --- rules for visitors ---------------------------------------------------------------------


def create_rule(facility: Facility, data: RuleInput) -> FacilityRule:
    require_live(facility)
    rule = FacilityRule(facility_id=facility.id, **_clean_rule(data))
    db.session.add(rule)
    db.session.flush()
    return rule


def update_rule(rule: FacilityRule, data: RuleInput) -> FacilityRule:
    require_live(_facility_of(rule), rule, "rule")
    for key, value in _clean_rule(data).items():
        setattr(rule, key, value)
    db.session.flush()
    return rule


def archive_rule(rule: FacilityRule) -> FacilityRule:
    require_live(_facility_of(rule))
    if rule.archived_at is None:
        rule.archived_at = clock.now()
    db.session.flush()
    return rule


def restore_rule(rule: FacilityRule) -> FacilityRule:
    require_live(_facility_of(rule))
    rule.archived_at = None
    db.session.flush()
    return rule


def _facility_of(record: Unit | Location | FacilityRule) -> Facility:
    """The record's facility, loaded in scope (the relationship refuses lazy loads)."""
    if "facility" not in inspect(record).unloaded:
        return record.facility
    return db.session.execute(
        select(Facility).where(Facility.id == record.facility_id)
    ).scalar_one()
