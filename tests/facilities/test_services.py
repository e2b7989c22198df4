"""Facility services: every write checked before anything reaches the database, archive
instead of delete, follow-ups cancelled with their facility, and pages loaded in a fixed number
of statements."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

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
from crm.facilities.services import (
    CAPACITY_MESSAGE,
    OFFICERS_MESSAGE,
    TIMEZONE_MESSAGE,
    FacilityInput,
    InvalidInput,
    LocationInput,
    RuleInput,
    UnitInput,
    WriteRefused,
    archive_facility,
    archive_part,
    archive_rule,
    create_facility,
    create_location,
    create_rule,
    create_unit,
    facility_page,
    list_facilities,
    restore_facility,
    restore_part,
    update_facility,
    update_location,
    update_rule,
    update_unit,
)
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.services import create_follow_up
from crm.tenancy import workspace_context
from crm.workspaces.models import Membership


def membership(public_id: uuid.UUID) -> Membership:
    return db.session.execute(
        select(Membership).where(Membership.public_id == public_id)
    ).scalar_one()


def world_facility(world) -> Facility:
    return db.session.execute(
        select(Facility).where(Facility.public_id == world.a.own[Facility])
    ).scalar_one()


def rows(model) -> int:
    return db.session.execute(select(func.count(model.id))).scalar_one()


def officers_of(unit: Unit) -> set[uuid.UUID]:
    return set(
        db.session.execute(
            select(Membership.public_id)
            .join(UnitOfficer, UnitOfficer.membership_id == Membership.id)
            .where(UnitOfficer.unit_id == unit.id)
        ).scalars()
    )


def refused(call, *args) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    return caught.value.errors


# --- facilities -------------------------------------------------------------------------------


def test_a_new_facility_keeps_the_workspace_clock_unless_told(app, world):
    with app.app_context(), workspace_context(world.a.id):
        plain = create_facility(FacilityInput(name="  North   Annex ", capacity=""))
        assert (plain.name, plain.timezone, plain.capacity) == (
            "North Annex",
            "America/Chicago",
            None,
        )
        other = create_facility(
            FacilityInput(
                name="Lake Road Jail",
                timezone=" America/Denver ",
                address="  12 Lake Road\nHarbor City  ",
                capacity="1,200",
            )
        )
        assert (other.timezone, other.address, other.capacity) == (
            "America/Denver",
            "12 Lake Road\nHarbor City",
            1200,
        )
        assert create_facility(FacilityInput(name="Empty", capacity=0)).capacity == 0


FACILITY_BAD = [
    pytest.param({"name": ""}, "name", "Enter the facility's name.", id="no name"),
    pytest.param({"name": " \t "}, "name", "Enter the facility's name.", id="blank name"),
    pytest.param({"name": "N" * 10_000}, "name", "200 characters", id="10000 characters"),
    pytest.param({"name": "a\x00b"}, "name", "NUL", id="NUL in name"),
    pytest.param({"timezone": "Mars/Olympus"}, "timezone", TIMEZONE_MESSAGE, id="unknown zone"),
    pytest.param({"timezone": "T" * 10_000}, "timezone", TIMEZONE_MESSAGE, id="long zone"),
    pytest.param({"timezone": "UTC\x00"}, "timezone", TIMEZONE_MESSAGE, id="NUL in zone"),
    pytest.param({"address": "A" * 1_001}, "address", "1,000 characters", id="long address"),
    pytest.param({"capacity": "-1"}, "capacity", CAPACITY_MESSAGE, id="negative"),
    pytest.param({"capacity": "100001"}, "capacity", CAPACITY_MESSAGE, id="too many"),
    pytest.param({"capacity": "9" * 5000}, "capacity", CAPACITY_MESSAGE, id="5000 digits"),
    pytest.param({"capacity": "12 people"}, "capacity", CAPACITY_MESSAGE, id="words"),
    pytest.param({"capacity": "1e3"}, "capacity", CAPACITY_MESSAGE, id="exponent"),
    pytest.param({"capacity": "1,2,0"}, "capacity", CAPACITY_MESSAGE, id="odd commas"),
    pytest.param({"capacity": "1_000"}, "capacity", CAPACITY_MESSAGE, id="underscore"),
    pytest.param({"capacity": "١٢"}, "capacity", CAPACITY_MESSAGE, id="arabic digits"),
    pytest.param({"capacity": 3.5}, "capacity", CAPACITY_MESSAGE, id="float"),
    pytest.param({"capacity": True}, "capacity", CAPACITY_MESSAGE, id="bool"),
]


@pytest.mark.parametrize(("change", "key", "message"), FACILITY_BAD)
def test_bad_facility_input_is_refused_field_by_field(app, world, change, key, message):
    with app.app_context(), workspace_context(world.a.id):
        before = rows(Facility)
        data = FacilityInput(**{"name": "Harbor Jail", "timezone": "America/Chicago", **change})
        errors = refused(create_facility, data)
        assert message in errors[key]
        assert rows(Facility) == before
        facility = world_facility(world)
        errors = refused(update_facility, facility, data)
        assert message in errors[key]
        db.session.expire_all()
        assert world_facility(world).name == "A County Jail"


def test_an_edit_must_name_a_time_zone(app, world):
    with app.app_context(), workspace_context(world.a.id):
        errors = refused(update_facility, world_facility(world), FacilityInput(name="X"))
        assert errors == {"timezone": "Choose the facility's time zone."}


def test_several_mistakes_are_reported_together(app, world):
    with app.app_context(), workspace_context(world.a.id):
        errors = refused(
            create_facility, FacilityInput(name="", timezone="Nowhere", capacity="lots")
        )
        assert set(errors) == {"name", "timezone", "capacity"}


def follow_up_about(subject_kind: str, subject_id: uuid.UUID, assignee: Membership) -> FollowUp:
    return create_follow_up(
        subject_kind=subject_kind,
        subject_id=subject_id,
        title="Walk the new volunteers through the lobby",
        assignee=assignee,
        due_at=clock.now() + timedelta(days=3),
    )


def test_archiving_a_facility_cancels_its_follow_ups_and_nothing_else(app, world):
    with app.app_context(), workspace_context(world.a.id):
        staff = membership(world.a.staff.membership_public_id)
        facility = world_facility(world)
        other = create_facility(FacilityInput(name="Other Jail"))
        mine = [follow_up_about("facility", facility.public_id, staff) for _ in range(2)]
        elsewhere = follow_up_about("facility", other.public_id, staff)
        done = follow_up_about("facility", facility.public_id, staff)
        done.status, done.completed_at = FollowUpStatus.DONE, clock.now()
        db.session.flush()

        assert archive_facility(facility) == 2
        assert facility.archived_at is not None
        assert [f.status for f in mine] == [FollowUpStatus.CANCELLED] * 2
        assert elsewhere.status is FollowUpStatus.OPEN
        assert done.status is FollowUpStatus.DONE
        # the organization follow-up of the world and the facility's children are untouched
        assert (
            db.session.execute(
                select(FollowUp.status).where(FollowUp.public_id == world.a.own[FollowUp])
            ).scalar_one()
            is FollowUpStatus.OPEN
        )
        for model in (Unit, Location, FacilityRule):
            record = db.session.execute(
                select(model).where(model.public_id == world.a.own[model])
            ).scalar_one()
            assert record.archived_at is None

        assert archive_facility(facility) == 0  # twice is harmless
        restore_facility(facility)
        assert facility.archived_at is None
        assert [f.status for f in mine] == [FollowUpStatus.CANCELLED] * 2  # stay cancelled


def test_an_archived_facility_is_read_only_until_restored(app, world):
    with app.app_context(), workspace_context(world.a.id):
        facility = world_facility(world)
        archive_facility(facility)
        unit = db.session.execute(select(Unit).where(Unit.facility_id == facility.id)).scalar_one()
        location = db.session.execute(
            select(Location).where(Location.facility_id == facility.id)
        ).scalar_one()
        rule = db.session.execute(
            select(FacilityRule).where(FacilityRule.facility_id == facility.id)
        ).scalar_one()
        before = (rows(Unit), rows(Location), rows(FacilityRule))
        attempts = [
            (update_facility, facility, FacilityInput(name="Renamed", timezone="UTC")),
            (create_unit, facility, UnitInput(name="Unit G", sex=Sex.MALE)),
            (update_unit, unit, UnitInput(name="Renamed", sex=Sex.FEMALE)),
            (archive_part, unit),
            (create_location, facility, LocationInput(name="Gym", kind=LocationKind.GYM)),
            (update_location, location, LocationInput(name="Renamed", kind="gym")),
            (archive_part, location),
            (create_rule, facility, RuleInput(topic=RuleTopic.DRESS, text="No open-toed shoes.")),
            (update_rule, rule, RuleInput(topic="dress", text="Changed")),
            (archive_rule, rule),
        ]
        for call, *args in attempts:
            with pytest.raises(WriteRefused, match="restore it first"):
                call(*args)
        assert (rows(Unit), rows(Location), rows(FacilityRule)) == before
        assert (facility.name, unit.name, location.name, rule.topic) == (
            "A County Jail",
            "Unit F",
            "Classroom 1",
            RuleTopic.PHONES,
        )
        restore_facility(facility)
        assert create_unit(facility, UnitInput(name="Unit G", sex="male")).sex is Sex.MALE


# --- units ------------------------------------------------------------------------------------


def test_a_unit_with_its_officers(app, world):
    with app.app_context(), workspace_context(world.a.id):
        facility = world_facility(world)
        staff, admin = world.a.staff.membership_public_id, world.a.admin.membership_public_id
        unit = create_unit(
            facility,
            UnitInput(name=" Unit  W ", sex="female", capacity="24", officers=[staff, str(admin)]),
        )
        assert (unit.name, unit.sex, unit.is_female, unit.capacity) == (
            "Unit W",
            Sex.FEMALE,
            True,
            24,
        )
        assert officers_of(unit) == {staff, admin}
        # the officers become exactly the chosen ones: one kept, one removed, none doubled
        update_unit(unit, UnitInput(name="Unit W", sex=Sex.FEMALE, officers=[staff, staff]))
        assert officers_of(unit) == {staff}
        update_unit(unit, UnitInput(name="Unit W", sex=Sex.MALE))
        assert officers_of(unit) == set()
        assert unit.sex is Sex.MALE


def officer_ids(world, which: str) -> list:
    return {
        "partner": [world.a.partner.membership_public_id],
        "viewer": [world.a.viewer.membership_public_id],
        "B's staff": [world.b.staff.membership_public_id],
        "B's admin with A's staff": [
            world.a.staff.membership_public_id,
            world.b.admin.membership_public_id,
        ],
        "made up": [uuid.uuid4()],
        "not an id": ["staff"],
        "too many": [uuid.uuid4() for _ in range(500)],
    }[which]


@pytest.mark.parametrize(
    "which",
    [
        "partner",
        "viewer",
        "B's staff",
        "B's admin with A's staff",
        "made up",
        "not an id",
        "too many",
    ],
)
def test_officers_are_staff_or_admins_of_this_workspace_only(app, world, which):
    with app.app_context(), workspace_context(world.a.id):
        facility = world_facility(world)
        before = (rows(Unit), rows(UnitOfficer))
        data = UnitInput(name="Unit Q", sex="male", officers=officer_ids(world, which))
        assert refused(create_unit, facility, data) == {"officers": OFFICERS_MESSAGE}
        unit = db.session.execute(select(Unit).where(Unit.facility_id == facility.id)).scalar_one()
        assert refused(update_unit, unit, data) == {"officers": OFFICERS_MESSAGE}
        assert (rows(Unit), rows(UnitOfficer)) == before
        assert officers_of(unit) == {world.a.staff.membership_public_id}


UNIT_BAD = [
    pytest.param({"name": ""}, "name", "Enter the unit's name.", id="no name"),
    pytest.param({"name": "U" * 101}, "name", "100 characters", id="101 characters"),
    pytest.param({"name": "U" * 10_000}, "name", "100 characters", id="10000 characters"),
    pytest.param({"name": "unit f"}, "name", "Another unit", id="taken in another case"),
    pytest.param({"sex": "other"}, "sex", "Choose the sex", id="unknown sex"),
    pytest.param({"sex": ""}, "sex", "Choose the sex", id="no sex"),
    pytest.param({"capacity": "-4"}, "capacity", CAPACITY_MESSAGE, id="negative capacity"),
]


@pytest.mark.parametrize(("change", "key", "message"), UNIT_BAD)
def test_bad_unit_input(app, world, change, key, message):
    with app.app_context(), workspace_context(world.a.id):
        facility = world_facility(world)
        before = rows(Unit)
        errors = refused(
            create_unit, facility, UnitInput(**{"name": "Unit M", "sex": "male", **change})
        )
        assert message in errors[key]
        assert rows(Unit) == before


def test_a_unit_keeps_its_own_name_and_archived_names_are_free(app, world):
    with app.app_context(), workspace_context(world.a.id):
        facility = world_facility(world)
        unit = db.session.execute(select(Unit).where(Unit.facility_id == facility.id)).scalar_one()
        update_unit(unit, UnitInput(name="UNIT F", sex="female"))  # its own name, any case
        archive_part(unit)
        twin = create_unit(facility, UnitInput(name="Unit F", sex="female"))
        with pytest.raises(WriteRefused, match="rename or archive that one first"):
            restore_part(unit)
        archive_part(twin)
        restore_part(unit)
        assert unit.archived_at is None
        with pytest.raises(WriteRefused, match="restore it first"):
            update_unit(twin, UnitInput(name="Unit F2", sex="female"))


# --- locations and rules ----------------------------------------------------------------------


def test_locations_and_rules(app, world):
    with app.app_context(), workspace_context(world.a.id):
        facility = world_facility(world)
        chapel = create_location(facility, LocationInput(name="Chapel", kind="chapel", capacity=30))
        assert (chapel.kind, chapel.capacity) == (LocationKind.CHAPEL, 30)
        update_location(chapel, LocationInput(name="Chapel East", kind=LocationKind.OTHER))
        assert (chapel.name, chapel.kind, chapel.capacity) == (
            "Chapel East",
            LocationKind.OTHER,
            None,
        )
        rule = create_rule(facility, RuleInput(topic="dress", text="  No open-toed shoes.\n "))
        assert (rule.topic, rule.text) == (RuleTopic.DRESS, "No open-toed shoes.")
        update_rule(rule, RuleInput(topic=RuleTopic.CONDUCT, text="Line one\nLine two"))
        assert (rule.topic, rule.text) == (RuleTopic.CONDUCT, "Line one\nLine two")


@pytest.mark.parametrize(
    ("call", "data", "key", "message"),
    [
        (create_location, LocationInput(name="", kind="gym"), "name", "Enter the room's name."),
        (create_location, LocationInput(name="R" * 10_000, kind="gym"), "name", "100 characters"),
        (create_location, LocationInput(name="classroom 1", kind="gym"), "name", "Another room"),
        (create_location, LocationInput(name="Gym", kind="spa"), "kind", "kind of room"),
        (create_location, LocationInput(name="Gym", kind="gym", capacity="x"), "capacity", "whole"),
        (create_rule, RuleInput(topic="weapons", text="None."), "topic", "Choose a topic"),
        (create_rule, RuleInput(topic="dress", text="  "), "text", "Write what visitors"),
        (create_rule, RuleInput(topic="dress", text="T" * 10_001), "text", "10,000 characters"),
        (create_rule, RuleInput(topic="dress", text="a\x00"), "text", "NUL"),
    ],
    ids=[
        "room no name",
        "room long name",
        "room name taken",
        "room unknown kind",
        "room bad capacity",
        "rule unknown topic",
        "rule blank",
        "rule too long",
        "rule NUL",
    ],
)
def test_bad_location_and_rule_input(app, world, call, data, key, message):
    with app.app_context(), workspace_context(world.a.id):
        before = (rows(Location), rows(FacilityRule))
        errors = refused(call, world_facility(world), data)
        assert message in errors[key]
        assert (rows(Location), rows(FacilityRule)) == before


# --- reading ----------------------------------------------------------------------------------


def test_the_list_hides_archived_facilities_unless_asked(app, world):
    with app.app_context(), workspace_context(world.a.id):
        old = create_facility(FacilityInput(name="Old Stockade"))
        create_unit(old, UnitInput(name="Block A", sex="male"))
        archive_facility(old)
        shown = list_facilities().items
        assert [f.name for f in shown] == ["A County Jail"]
        assert [u.name for u in shown[0].units] == ["Unit F"]  # loaded with the list
        assert [f.name for f in list_facilities(include_archived=True).items] == [
            "A County Jail",
            "Old Stockade",
        ]
    with app.app_context(), workspace_context(world.b.id):
        assert [f.name for f in list_facilities(include_archived=True).items] == ["B County Jail"]


def test_the_page_groups_rules_by_topic_and_sets_archived_records_apart(app, world):
    with app.app_context(), workspace_context(world.a.id):
        facility = world_facility(world)
        create_rule(facility, RuleInput(topic="emergency", text="Follow the officer's lead."))
        create_rule(facility, RuleInput(topic="identification", text="Bring a photo ID."))
        create_rule(facility, RuleInput(topic="phones", text="No smart watches either."))
        archive_rule(create_rule(facility, RuleInput(topic="dress", text="Old dress code.")))
        archive_part(create_unit(facility, UnitInput(name="Unit Z", sex="male")))
        page = facility_page(facility.public_id)
        assert list(page.rules) == [RuleTopic.PHONES, RuleTopic.IDENTIFICATION, RuleTopic.EMERGENCY]
        assert [r.text for r in page.rules[RuleTopic.PHONES]] == [
            "Phones stay in the lobby lockers.",
            "No smart watches either.",
        ]
        assert [r.text for r in page.archived_rules] == ["Old dress code."]
        assert [u.name for u in page.units] == ["Unit F"]
        assert [u.name for u in page.archived_units] == ["Unit Z"]
        assert [o.membership.user.email for o in page.units[0].officers] == ["staff@a.example"]
        assert [loc.name for loc in page.locations] == ["Classroom 1"]
        assert facility_page(world.b.own[Facility]) is None  # another workspace's
