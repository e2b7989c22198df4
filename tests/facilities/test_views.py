"""Facility pages as each role uses them: the list, a facility's page, the forms of facilities,
units, rooms and rules; bad input answered with the form again and the typing kept; archive and
restore; viewers read, partners see nothing yet; pages cost the same for 2 units or 30."""

from __future__ import annotations

import html
import re
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
    RuleTopic,
    Sex,
    Unit,
    UnitOfficer,
)
from crm.facilities.services import (
    FacilityInput,
    LocationInput,
    RuleInput,
    UnitInput,
    archive_facility,
    create_facility,
    create_location,
    create_rule,
    create_unit,
)
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.services import create_follow_up
from crm.tenancy import workspace_context
from crm.workspaces.models import Membership
from tests.querycount import queries_of

JAIL_ROLES = ["admin", "staff"]
READERS = ["admin", "staff", "viewer"]


# --- reading pages as a person would ---------------------------------------------------------


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def field_error(response, field: str) -> str | None:
    """The message shown under a field (tied to it by aria-describedby), if any."""
    body = response.get_data(as_text=True)
    match = re.search(rf'<div id="{field}-error"[^>]*>(.*?)</div>', body, re.S)
    if match is None:
        return None
    assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error', body) or re.search(
        rf'aria-describedby="[^"]*{field}-error[^"]*"[^>]*id="{field}"', body
    ), f"{field}'s message is not tied to it"
    return html.unescape(match.group(1)).strip()


def input_value(response, field: str) -> str:
    tag = re.search(rf'<input[^>]*\bname="{field}"[^>]*>', response.get_data(as_text=True)).group(0)
    match = re.search(r'value="([^"]*)"', tag)
    return html.unescape(match.group(1)) if match else ""


def textarea(response, field: str) -> str:
    match = re.search(
        rf'<textarea[^>]*\bname="{field}"[^>]*>(.*?)</textarea>',
        response.get_data(as_text=True),
        re.S,
    )
    return html.unescape(match.group(1)).strip()


def selected(response, field: str) -> str | None:
    select_tag = re.search(
        rf'<select[^>]*\bname="{field}"[^>]*>(.*?)</select>', response.get_data(as_text=True), re.S
    ).group(1)
    match = re.search(r'<option selected value="([^"]*)"', select_tag)
    return match.group(1) if match else None


def ticked(response, field: str = "officers") -> set[str]:
    boxes = re.findall(rf'<input[^>]*\bname="{field}"[^>]*>', response.get_data(as_text=True))
    return {re.search(r'value="([^"]*)"', b).group(1) for b in boxes if "checked" in b}


def listed(response) -> list[str]:
    """Facility names in the list's table, in order."""
    body = response.get_data(as_text=True)
    return [
        html.unescape(n)
        for n in re.findall(r'<td>\s*<a href="/facilities/[^"]+">([^<]*)</a>', body)
    ]


def section(response, name: str) -> str:
    """The text of one table or section of the facility page (by its id)."""
    body = response.get_data(as_text=True)
    match = re.search(rf'<(table|section)[^>]*id="{name}".*?</\1>', body, re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(0))) if match else ""


# --- the database behind the pages ------------------------------------------------------------


def in_a(app, world):
    """A block in workspace A's scope (commit to keep what it made)."""

    class _Scope:
        def __enter__(self):
            self._app = app.app_context()
            self._app.__enter__()
            self._ws = workspace_context(world.a.id)
            self._ws.__enter__()

        def __exit__(self, *exc):
            self._ws.__exit__(*exc)
            self._app.__exit__(*exc)

    return _Scope()


def count(app, world, model) -> int:
    with in_a(app, world):
        return db.session.execute(select(func.count(model.id))).scalar_one()


def stored(app, world, model, public_id):
    with in_a(app, world):
        record = db.session.execute(
            select(model).where(model.public_id == public_id)
        ).scalar_one_or_none()
        if record is not None:
            db.session.expunge(record)
        return record


def snapshot(app, world) -> dict:
    """Every facility record of workspace A as plain values: nothing written shows up here."""
    with in_a(app, world):
        return {
            model.__name__: sorted(
                repr([getattr(record, c.key) for c in model.__mapper__.column_attrs])
                for record in db.session.execute(select(model)).scalars()
            )
            for model in (Facility, Unit, UnitOfficer, Location, FacilityRule)
        }


def a_facility_with(app, world, units: int, name: str = "Harbor Jail") -> uuid.UUID:
    """A facility with `units` units (each with two officers), two rooms and three rules."""
    with in_a(app, world):
        officers = [world.a.staff.membership_public_id, world.a.admin.membership_public_id]
        facility = create_facility(FacilityInput(name=name, address="1 Harbor Way"))
        for n in range(units):
            sex = Sex.FEMALE if n % 2 == 0 else Sex.MALE
            create_unit(facility, UnitInput(name=f"Unit {n:02}", sex=sex, officers=officers))
        for room in ("Chapel", "Dayroom"):
            create_location(facility, LocationInput(name=room, kind="other"))
        for topic in ("phones", "dress", "emergency"):
            create_rule(facility, RuleInput(topic=topic, text=f"About {topic}."))
        db.session.commit()
        return facility.public_id


def add_units(app, world, facility_id: uuid.UUID, names: list[str]) -> None:
    with in_a(app, world):
        facility = db.session.execute(
            select(Facility).where(Facility.public_id == facility_id)
        ).scalar_one()
        officers = [world.a.staff.membership_public_id, world.a.admin.membership_public_id]
        for name in names:
            create_unit(facility, UnitInput(name=name, sex="female", officers=officers))
        db.session.commit()


# --- the list ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", READERS)
def test_the_list_shows_this_workspace_with_female_units_marked(app, world, login, role):
    a_facility_with(app, world, units=2)
    response = login(getattr(world.a, role)).get("/facilities/")
    assert response.status_code == 200
    assert listed(response) == ["A County Jail", "Harbor Jail"]
    page = text_of(response)
    assert "B County Jail" not in page
    assert "America/Chicago" in page
    body = response.get_data(as_text=True)
    assert re.search(r"Unit F <span class=\"badge[^\"]*\">Women</span>", body)
    assert re.search(r"Unit 00 <span class=\"badge[^\"]*\">Women</span>", body)
    assert re.search(r"Unit 01</span>", body)  # a men's unit, not marked
    assert ("Add a facility" in page) is (role != "viewer")


def test_archived_facilities_are_hidden_unless_asked_for(app, world, login):
    old = a_facility_with(app, world, units=1, name="Old Stockade")
    with in_a(app, world):
        archive_facility(
            db.session.execute(select(Facility).where(Facility.public_id == old)).scalar_one()
        )
        db.session.commit()
    client = login(world.a.staff)
    assert listed(client.get("/facilities/")) == ["A County Jail"]
    with_archived = client.get("/facilities/?archived=1")
    assert listed(with_archived) == ["A County Jail", "Old Stockade"]
    assert "Archived" in text_of(with_archived)
    assert listed(client.get("/facilities/?archived=yes-please")) == ["A County Jail"]
    assert client.get(f"/facilities/{old}").status_code == 200  # its page stays readable


def test_the_list_is_paginated(app, world, login, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    for name in ("B Annex", "C Annex", "D Annex"):
        a_facility_with(app, world, units=0, name=name)
    client = login(world.a.staff)
    assert listed(client.get("/facilities/")) == ["A County Jail", "B Annex"]
    assert listed(client.get("/facilities/?page=2")) == ["C Annex", "D Annex"]
    assert 'href="/facilities/?page=2"' in client.get("/facilities/").get_data(as_text=True)


# --- the facility page ------------------------------------------------------------------------


@pytest.mark.parametrize("role", READERS)
def test_the_facility_page(app, world, login, role):
    facility_id = a_facility_with(app, world, units=2)
    response = login(getattr(world.a, role)).get(f"/facilities/{facility_id}")
    assert response.status_code == 200
    page = text_of(response)
    for shown in ("Harbor Jail", "1 Harbor Way", "America/Chicago", "Chapel", "Dayroom"):
        assert shown in page
    units = section(response, "units")
    assert "Unit 00" in units and "Women" in units and "Men" in units
    assert "Staff a" in units and "Admin a" in units
    rules = section(response, "rules")
    # grouped by topic, in the topics' order
    assert rules.index("Phones and devices") < rules.index("Dress code")
    assert rules.index("Dress code") < rules.index("Emergency protocol")
    assert "About dress." in rules
    writer = role != "viewer"
    assert (f"/facilities/{facility_id}/edit" in response.get_data(as_text=True)) is writer
    assert ("Archive this facility" in page) is writer
    assert ("Add a unit" in page) is writer


def test_the_page_says_what_archiving_does(app, world, login):
    facility_id = world.a.own[Facility]
    with in_a(app, world):
        staff = db.session.execute(
            select(Membership).where(Membership.public_id == world.a.staff.membership_public_id)
        ).scalar_one()
        for _ in range(2):
            create_follow_up(
                subject_kind="facility",
                subject_id=facility_id,
                title="Renew the lobby badge list",
                assignee=staff,
                due_at=clock.now() + timedelta(days=2),
            )
        db.session.commit()
    archive = section(login(world.a.admin).get(f"/facilities/{facility_id}"), "archive")
    assert "cancels the 2 open follow-up(s) about it" in archive
    assert "units, rooms and rules stay as they are" in archive


# --- adding and editing -----------------------------------------------------------------------


def facility_form(**changes) -> dict:
    data = {
        "name": "Lake Road Jail",
        "address": "12 Lake Road\nHarbor City",
        "timezone": "America/Denver",
        "capacity": "250",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("role", JAIL_ROLES)
def test_add_a_facility(app, world, login, role):
    client = login(getattr(world.a, role))
    form = client.get("/facilities/new")
    assert form.status_code == 200
    assert input_value(form, "timezone") == "America/Chicago"  # the workspace's, to start with
    assert '<option value="Europe/Paris">' in form.get_data(as_text=True)
    response = client.post("/facilities/new", facility_form())
    assert response.status_code == 302
    page = text_of(client.get(response.location))
    assert "Lake Road Jail was added." in page
    assert "America/Denver" in page and "250" in page and "12 Lake Road" in page
    assert "Lake Road Jail" in listed(client.get("/facilities/"))


def test_a_facility_sent_without_a_time_zone_keeps_the_workspace_clock(app, world, login):
    client = login(world.a.staff)
    response = client.post("/facilities/new", {"name": "Quick Add"})
    assert response.status_code == 302
    assert "America/Chicago" in text_of(client.get(response.location))


@pytest.mark.parametrize("role", JAIL_ROLES)
def test_edit_a_facility(app, world, login, role):
    client = login(getattr(world.a, role))
    facility_id = world.a.own[Facility]
    form = client.get(f"/facilities/{facility_id}/edit")
    assert input_value(form, "name") == "A County Jail"
    assert input_value(form, "capacity") == "120"
    response = client.post(
        f"/facilities/{facility_id}/edit",
        facility_form(name="A County Jail East", capacity="", address=""),
    )
    assert response.status_code == 302
    assert "Changes saved." in text_of(client.get(response.location))
    facility = stored(app, world, Facility, facility_id)
    assert (facility.name, facility.timezone, facility.capacity, facility.address) == (
        "A County Jail East",
        "America/Denver",
        None,
        "",
    )


FACILITY_BAD = [
    pytest.param("name", "", "Enter the facility's name.", id="no name"),
    pytest.param("name", "N" * 10_000, "200 characters", id="10000 character name"),
    pytest.param("timezone", "Mars/Olympus", "time zone name", id="unknown zone"),
    pytest.param("timezone", "Z" * 10_000, "time zone name", id="10000 character zone"),
    pytest.param("capacity", "-5", "whole number from 0 to 100,000", id="negative"),
    pytest.param("capacity", "100001", "whole number from 0 to 100,000", id="too many"),
    pytest.param("capacity", "lots", "whole number from 0 to 100,000", id="words"),
    pytest.param("address", "A" * 10_000, "1,000 characters", id="10000 character address"),
]


def assert_facility_form_again(response, field, message, sent):
    assert response.status_code == 422
    error = field_error(response, field)
    assert error is not None and message in error, error
    assert "Nothing was saved yet." in text_of(response)
    for name in ("name", "timezone", "capacity"):
        assert input_value(response, name) == sent[name], name
    assert textarea(response, "address") == sent["address"].strip()


@pytest.mark.parametrize(("field", "value", "message"), FACILITY_BAD)
@pytest.mark.parametrize("where", ["new", "edit"])
def test_bad_input_on_the_facility_forms(app, world, login, field, value, message, where):
    client = login(world.a.staff)
    url = "/facilities/new" if where == "new" else f"/facilities/{world.a.own[Facility]}/edit"
    before = snapshot(app, world)
    sent = facility_form(**{field: value})
    response = client.post(url, sent)
    assert_facility_form_again(response, field, message, sent)
    assert snapshot(app, world) == before


def test_an_edit_without_a_time_zone_is_refused(app, world, login):
    before = snapshot(app, world)
    sent = facility_form(timezone="")
    response = login(world.a.admin).post(f"/facilities/{world.a.own[Facility]}/edit", sent)
    assert_facility_form_again(response, "timezone", "Choose the facility's time zone.", sent)
    assert snapshot(app, world) == before


def test_a_form_with_several_mistakes_marks_each_field(world, login):
    response = login(world.a.staff).post(
        "/facilities/new", facility_form(name="", timezone="Nowhere/Town", capacity="-1")
    )
    assert response.status_code == 422
    assert field_error(response, "name") == "Enter the facility's name."
    assert "time zone" in field_error(response, "timezone")
    assert "whole number" in field_error(response, "capacity")


# --- units ------------------------------------------------------------------------------------


def unit_form(world, **changes) -> dict:
    data = {
        "name": "Unit W",
        "sex": "female",
        "capacity": "32",
        "officers": [str(world.a.staff.membership_public_id)],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("role", JAIL_ROLES)
def test_add_and_edit_a_unit_with_its_officers(app, world, login, role):
    client = login(getattr(world.a, role))
    facility_id = world.a.own[Facility]
    form = client.get(f"/facilities/{facility_id}/units/new")
    assert form.status_code == 200
    choices = form.get_data(as_text=True)
    # staff and admins to choose from; never the partner, the viewer or another workspace
    assert str(world.a.staff.membership_public_id) in choices
    assert str(world.a.admin.membership_public_id) in choices
    for other in (world.a.partner, world.a.viewer, world.b.staff):
        assert str(other.membership_public_id) not in choices
    response = client.post(f"/facilities/{facility_id}/units/new", unit_form(world))
    assert response.status_code == 302
    page = client.get(response.location)
    assert "Unit W was added to A County Jail." in text_of(page)
    assert "Unit W" in section(page, "units")

    with in_a(app, world):
        unit_id = db.session.execute(
            select(Unit.public_id).where(Unit.name == "Unit W")
        ).scalar_one()
    edit = client.get(f"/facilities/units/{unit_id}/edit")
    assert input_value(edit, "name") == "Unit W"
    assert selected(edit, "sex") == "female"
    assert ticked(edit) == {str(world.a.staff.membership_public_id)}
    admin_id = str(world.a.admin.membership_public_id)
    response = client.post(
        f"/facilities/units/{unit_id}/edit",
        unit_form(world, name="Unit W2", sex="male", capacity="", officers=[admin_id]),
    )
    assert response.status_code == 302
    assert ticked(client.get(f"/facilities/units/{unit_id}/edit")) == {admin_id}
    unit = stored(app, world, Unit, unit_id)
    assert (unit.name, unit.sex, unit.capacity) == ("Unit W2", Sex.MALE, None)
    response = client.post(f"/facilities/units/{unit_id}/edit", unit_form(world, officers=[]))
    assert response.status_code == 302
    assert ticked(client.get(f"/facilities/units/{unit_id}/edit")) == set()


UNIT_BAD = [
    pytest.param("name", "", "Enter the unit's name.", id="no name"),
    pytest.param("name", "U" * 10_000, "100 characters", id="10000 character name"),
    pytest.param("sex", "other", "Choose the sex", id="unknown sex"),
    pytest.param("capacity", "1e9", "whole number", id="bad capacity"),
    pytest.param("officers", "b-staff", "Choose officers from the list", id="officer of B"),
    pytest.param("officers", "a-partner", "Choose officers from the list", id="partner officer"),
    pytest.param("officers", "a-viewer", "Choose officers from the list", id="viewer officer"),
    pytest.param("officers", "random", "Choose officers from the list", id="made-up id"),
    pytest.param("officers", "not-an-id", "Choose officers from the list", id="not an id"),
]


def officers_value(world, value: str) -> list[str]:
    return [
        str(world.a.staff.membership_public_id),
        {
            "b-staff": str(world.b.staff.membership_public_id),
            "a-partner": str(world.a.partner.membership_public_id),
            "a-viewer": str(world.a.viewer.membership_public_id),
            "random": str(uuid.uuid4()),
        }.get(value, value),
    ]


@pytest.mark.parametrize(("field", "value", "message"), UNIT_BAD)
@pytest.mark.parametrize("where", ["new", "edit"])
def test_bad_input_on_the_unit_forms(app, world, login, field, value, message, where):
    client = login(world.a.admin)
    url = (
        f"/facilities/{world.a.own[Facility]}/units/new"
        if where == "new"
        else f"/facilities/units/{world.a.own[Unit]}/edit"
    )
    before = snapshot(app, world)
    sent = unit_form(
        world, **{field: officers_value(world, value) if field == "officers" else value}
    )
    response = client.post(url, sent)
    assert response.status_code == 422
    error = field_error(response, field)
    assert error is not None and message in error, error
    assert "Nothing was saved yet." in text_of(response)
    if field != "name":
        assert input_value(response, "name") == "Unit W"
    if field != "sex":
        assert selected(response, "sex") == "female"
    if field != "capacity":
        assert input_value(response, "capacity") == "32"
    assert str(world.a.staff.membership_public_id) in ticked(response)  # still ticked
    assert snapshot(app, world) == before


# --- rooms and rules --------------------------------------------------------------------------


@pytest.mark.parametrize("role", JAIL_ROLES)
def test_add_and_edit_a_room(app, world, login, role):
    client = login(getattr(world.a, role))
    facility_id = world.a.own[Facility]
    response = client.post(
        f"/facilities/{facility_id}/locations/new",
        {"name": "Chapel", "kind": "chapel", "capacity": "40"},
    )
    assert response.status_code == 302
    assert "Chapel" in section(client.get(response.location), "locations")
    location_id = world.a.own[Location]
    edit = client.get(f"/facilities/locations/{location_id}/edit")
    assert (input_value(edit, "name"), selected(edit, "kind")) == ("Classroom 1", "classroom")
    response = client.post(
        f"/facilities/locations/{location_id}/edit",
        {"name": "Classroom 2", "kind": "gym", "capacity": "0"},
    )
    assert response.status_code == 302
    location = stored(app, world, Location, location_id)
    assert (location.name, location.kind.value, location.capacity) == ("Classroom 2", "gym", 0)


LOCATION_BAD = [
    pytest.param("name", "", "Enter the room's name.", id="no name"),
    pytest.param("name", "R" * 10_000, "100 characters", id="10000 character name"),
    pytest.param("kind", "spa", "Choose a kind of room", id="unknown kind"),
    pytest.param("capacity", "100001", "whole number", id="too many"),
]


@pytest.mark.parametrize(("field", "value", "message"), LOCATION_BAD)
@pytest.mark.parametrize("where", ["new", "edit"])
def test_bad_input_on_the_room_forms(app, world, login, field, value, message, where):
    client = login(world.a.staff)
    url = (
        f"/facilities/{world.a.own[Facility]}/locations/new"
        if where == "new"
        else f"/facilities/locations/{world.a.own[Location]}/edit"
    )
    before = snapshot(app, world)
    sent = {"name": "Gym", "kind": "gym", "capacity": "20", field: value}
    response = client.post(url, sent)
    assert response.status_code == 422
    assert message in (field_error(response, field) or "")
    assert input_value(response, "name") == sent["name"]
    assert input_value(response, "capacity") == sent["capacity"]
    if field != "kind":
        assert selected(response, "kind") == "gym"
    assert snapshot(app, world) == before


@pytest.mark.parametrize("role", JAIL_ROLES)
def test_add_and_edit_a_rule(app, world, login, role):
    client = login(getattr(world.a, role))
    facility_id = world.a.own[Facility]
    response = client.post(
        f"/facilities/{facility_id}/rules/new", {"topic": "dress", "text": "No open-toed shoes."}
    )
    assert response.status_code == 302
    rules = section(client.get(response.location), "rules")
    assert "Dress code" in rules and "No open-toed shoes." in rules
    rule_id = world.a.own[FacilityRule]
    edit = client.get(f"/facilities/rules/{rule_id}/edit")
    assert selected(edit, "topic") == "phones"
    assert textarea(edit, "text") == "Phones stay in the lobby lockers."
    response = client.post(
        f"/facilities/rules/{rule_id}/edit", {"topic": "materials", "text": "Books are checked."}
    )
    assert response.status_code == 302
    rule = stored(app, world, FacilityRule, rule_id)
    assert (rule.topic, rule.text) == (RuleTopic.MATERIALS, "Books are checked.")


RULE_BAD = [
    pytest.param("topic", "weapons", "Choose a topic", id="unknown topic"),
    pytest.param("topic", "", "Choose a topic", id="no topic"),
    pytest.param("text", "   ", "Write what visitors must know.", id="blank text"),
    pytest.param("text", "T" * 10_001, "10,000 characters", id="too long"),
]


@pytest.mark.parametrize(("field", "value", "message"), RULE_BAD)
@pytest.mark.parametrize("where", ["new", "edit"])
def test_bad_input_on_the_rule_forms(app, world, login, field, value, message, where):
    client = login(world.a.staff)
    url = (
        f"/facilities/{world.a.own[Facility]}/rules/new"
        if where == "new"
        else f"/facilities/rules/{world.a.own[FacilityRule]}/edit"
    )
    before = snapshot(app, world)
    sent = {"topic": "dress", "text": "No hoodies.", field: value}
    response = client.post(url, sent)
    assert response.status_code == 422
    assert message in (field_error(response, field) or "")
    if field != "text":
        assert textarea(response, "text") == "No hoodies."
    if field != "topic":
        assert selected(response, "topic") == "dress"
    assert snapshot(app, world) == before


# --- archive and restore ----------------------------------------------------------------------


def test_archive_a_facility_then_restore_it(app, world, login):
    facility_id = world.a.own[Facility]
    with in_a(app, world):
        staff = db.session.execute(
            select(Membership).where(Membership.public_id == world.a.staff.membership_public_id)
        ).scalar_one()
        follow_up = create_follow_up(
            subject_kind="facility",
            subject_id=facility_id,
            title="Renew the lobby badge list",
            assignee=staff,
            due_at=clock.now() + timedelta(days=2),
        )
        db.session.commit()
        follow_up_id = follow_up.public_id
    client = login(world.a.admin)
    response = client.post(f"/facilities/{facility_id}/archive")
    assert response.status_code == 302
    page = client.get(response.location)
    body = text_of(page)
    assert "A County Jail was archived. 1 open follow-up(s) about it were cancelled." in body
    assert "Restore A County Jail" in body
    assert "Archive this facility" not in body and "Add a unit" not in body
    assert stored(app, world, FollowUp, follow_up_id).status is FollowUpStatus.CANCELLED
    assert stored(app, world, Unit, world.a.own[Unit]).archived_at is None  # nothing else
    assert listed(client.get("/facilities/")) == []
    # archived means read-only: the forms send you back with the reason
    before = snapshot(app, world)
    for url, data in (
        (f"/facilities/{facility_id}/edit", facility_form()),
        (f"/facilities/{facility_id}/units/new", unit_form(world)),
        (f"/facilities/units/{world.a.own[Unit]}/edit", unit_form(world)),
        (f"/facilities/{facility_id}/locations/new", {"name": "Gym", "kind": "gym"}),
        (f"/facilities/locations/{world.a.own[Location]}/edit", {"name": "Gym", "kind": "gym"}),
        (f"/facilities/{facility_id}/rules/new", {"topic": "dress", "text": "x"}),
        (f"/facilities/rules/{world.a.own[FacilityRule]}/edit", {"topic": "dress", "text": "x"}),
        (f"/facilities/units/{world.a.own[Unit]}/archive", {}),
    ):
        for method in ("get", "post"):
            if method == "get" and url.endswith("/archive"):
                continue
            answer = getattr(client, method)(url, data) if method == "post" else client.get(url)
            assert answer.status_code == 302, (method, url)
            assert "restore it first" in text_of(client.get(answer.location)), (method, url)
    assert snapshot(app, world) == before

    response = client.post(f"/facilities/{facility_id}/restore")
    assert response.status_code == 302
    assert "A County Jail was restored." in text_of(client.get(response.location))
    assert listed(client.get("/facilities/")) == ["A County Jail"]
    assert stored(app, world, FollowUp, follow_up_id).status is FollowUpStatus.CANCELLED


@pytest.mark.parametrize(
    ("model", "path", "table", "name"),
    [
        (Unit, "units", "units", "Unit F"),
        (Location, "locations", "locations", "Classroom 1"),
        (FacilityRule, "rules", "rules", "Phones stay in the lobby lockers."),
    ],
)
def test_archive_and_restore_a_unit_room_or_rule(app, world, login, model, path, table, name):
    client = login(world.a.staff)
    record_id = world.a.own[model]
    response = client.post(f"/facilities/{path}/{record_id}/archive")
    assert response.status_code == 302
    page = client.get(response.location)
    assert "was archived." in text_of(page)
    assert name not in section(page, table)
    assert name[:40] in section(page, "archived")
    assert stored(app, world, model, record_id).archived_at is not None
    response = client.post(f"/facilities/{path}/{record_id}/restore")
    assert response.status_code == 302
    page = client.get(response.location)
    assert name in section(page, table)
    assert section(page, "archived") == ""
    assert stored(app, world, model, record_id).archived_at is None


# --- roles and workspaces ---------------------------------------------------------------------


def all_urls(world, side) -> list[tuple[str, str]]:
    f, u = side.own[Facility], side.own[Unit]
    loc, r = side.own[Location], side.own[FacilityRule]
    gets = [
        "/facilities/",
        "/facilities/new",
        f"/facilities/{f}",
        f"/facilities/{f}/edit",
        f"/facilities/{f}/units/new",
        f"/facilities/units/{u}/edit",
        f"/facilities/{f}/locations/new",
        f"/facilities/locations/{loc}/edit",
        f"/facilities/{f}/rules/new",
        f"/facilities/rules/{r}/edit",
    ]
    posts = [p for p in gets[1:] if p != f"/facilities/{f}"] + [
        f"/facilities/{f}/archive",
        f"/facilities/{f}/restore",
        f"/facilities/units/{u}/archive",
        f"/facilities/units/{u}/restore",
        f"/facilities/locations/{loc}/archive",
        f"/facilities/locations/{loc}/restore",
        f"/facilities/rules/{r}/archive",
        f"/facilities/rules/{r}/restore",
    ]
    return [("get", url) for url in gets] + [("post", url) for url in posts]


def test_partners_see_none_of_these_pages(app, world, login):
    client = login(world.a.partner)
    before = snapshot(app, world)
    for method, url in all_urls(world, world.a):
        response = (
            getattr(client, method)(url, facility_form()) if method == "post" else client.get(url)
        )
        assert response.status_code == 403, (method, url)
    assert snapshot(app, world) == before
    assert "/facilities/" not in client.get("/partners/").get_data(as_text=True)  # no nav link


def test_viewers_read_but_never_write(app, world, login):
    client = login(world.a.viewer)
    before = snapshot(app, world)
    reads = {"/facilities/", f"/facilities/{world.a.own[Facility]}"}
    for method, url in all_urls(world, world.a):
        response = (
            getattr(client, method)(url, facility_form()) if method == "post" else client.get(url)
        )
        expected = 200 if (method, url) in {("get", r) for r in reads} else 403
        assert response.status_code == expected, (method, url)
    assert snapshot(app, world) == before
    assert 'href="/facilities/"' in client.get("/partners/").get_data(as_text=True)  # nav link


@pytest.mark.parametrize("role", JAIL_ROLES)
def test_records_of_another_workspace_answer_404(app, world, login, role):
    client = login(getattr(world.a, role))
    before = snapshot(app, world)
    for method, url in all_urls(world, world.b):
        if url in ("/facilities/", "/facilities/new"):
            continue
        response = (
            getattr(client, method)(url, facility_form()) if method == "post" else client.get(url)
        )
        assert response.status_code == 404, (method, url)
    assert snapshot(app, world) == before
    with app.app_context(), workspace_context(world.b.id):
        b_facility = db.session.execute(
            select(Facility).where(Facility.public_id == world.b.own[Facility])
        ).scalar_one()
        assert b_facility.archived_at is None and b_facility.name == "B County Jail"


# --- cost of the pages ------------------------------------------------------------------------


def test_the_facility_page_costs_the_same_for_2_or_30_units(app, world, login):
    small = a_facility_with(app, world, units=2, name="Small Jail")
    large = a_facility_with(app, world, units=30, name="Large Jail")
    client = login(world.a.staff)
    assert queries_of(app, client, f"/facilities/{small}") == queries_of(
        app, client, f"/facilities/{large}"
    )
    assert section(client.get(f"/facilities/{large}"), "units").count("Staff a") == 30


def test_the_list_costs_the_same_for_2_or_30_units(app, world, login):
    facility_id = a_facility_with(app, world, units=2)
    client = login(world.a.viewer)
    few = queries_of(app, client, "/facilities/")
    add_units(app, world, facility_id, [f"Block {n:02}" for n in range(28)])
    a_facility_with(app, world, units=5, name="Third Jail")
    many = queries_of(app, client, "/facilities/")
    assert few == many
    assert text_of(client.get("/facilities/")).count("Block ") == 28
