"""Contact and outreach-log pages as each role uses them: staff log a tour with its visitors
and officers and get one follow-up; bad input is answered with the form again, typing kept and
nothing written; partners keep their own contacts but never see notes or the log; viewers
read only. The partials cost the same number of statements for 1 or 40 activities."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from flask import Blueprint, render_template_string
from sqlalchemy import func, select

from crm import clock
from crm.extensions import db
from crm.facilities.models import Facility
from crm.followups.models import FollowUp
from crm.partners import outreach
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
from crm.roles import ALL_ROLES
from crm.tenancy import get_or_404, workspace_context
from crm.web.access import allow
from tests.conftest import Client, make_test_app
from tests.querycount import queries_of

SUMMER_NOW = datetime(2025, 7, 20, 17, 0, tzinfo=UTC)
WINTER_NOW = datetime(2025, 1, 20, 18, 0, tzinfo=UTC)


# --- reading pages as a person would ---------------------------------------------------------


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def error_of(response, field: str) -> str | None:
    """The message shown under a field (or a group of checkboxes), if any."""
    match = re.search(
        rf'<div id="{field}-error"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S
    )
    return html.unescape(match.group(1)).strip() if match else None


def value_of(response, field: str) -> str:
    tag = re.search(rf'<input[^>]*\bname="{field}"[^>]*>', response.get_data(as_text=True))
    assert tag, f"no input {field}"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else ""


def textarea(response, field: str) -> str:
    match = re.search(
        rf'<textarea[^>]*\bname="{field}"[^>]*>(.*?)</textarea>',
        response.get_data(as_text=True),
        re.S,
    )
    assert match, f"no textarea {field}"
    return html.unescape(match.group(1)).strip()


def checked(response, field: str) -> set[str]:
    tags = re.findall(rf'<input[^>]*\bname="{field}"[^>]*>', response.get_data(as_text=True))
    return {re.search(r'value="([^"]*)"', t).group(1) for t in tags if " checked" in t}


# --- the database behind the pages ------------------------------------------------------------


def counts(app, world) -> dict[str, int]:
    with app.app_context(), workspace_context(world.a.id):
        return {
            model.__name__: db.session.execute(select(func.count(model.id))).scalar_one()
            for model in (Contact, Activity, ActivityAttendee, FollowUp, StageChange)
        }


def stored(app, world, model, **where):
    with app.app_context(), workspace_context(world.a.id):
        statement = select(model).filter_by(**where)
        found = db.session.execute(statement).scalars().all()
        for record in found:
            db.session.expunge(record)
        return found


# --- contacts ---------------------------------------------------------------------------------


def contact_form(**changes) -> dict:
    data = {
        "name": "Ana Diaz",
        "title": "Director",
        "email": "ana@harbor.example",
        "phone": "(312) 555-0100",
        "phone_alt": "",
        "notes": "Prefers calls before noon.",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("role", ["admin", "staff"])
def test_staff_add_a_contact_with_notes(app, world, login, role):
    client = login(world.a.members[role])
    url = f"/partners/{world.a.own[Organization]}/contacts/new"
    assert "Staff notes (staff only)" in text_of(client.get(url))
    response = client.post(url, contact_form())
    assert response.status_code == 302
    assert response.location.endswith(f"/partners/{world.a.own[Organization]}#contacts")
    (ana,) = stored(app, world, Contact, name="Ana Diaz")
    assert (ana.email, ana.phone, ana.notes) == (
        "ana@harbor.example",
        "(312) 555-0100",
        "Prefers calls before noon.",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Enter the contact's name."),
        ("name", "x" * 201, "200"),
        ("email", "ana at harbor", "like name@example.org"),
        ("phone", "ask at the desk", "phone number"),
        ("phone_alt", "12", "phone number"),
        ("notes", "n" * 10_001, "10000"),
    ],
)
def test_bad_contact_input_shows_the_form_again_with_the_typing_kept(
    app, world, login, field, value, message
):
    client = login(world.a.staff)
    before = counts(app, world)
    response = client.post(
        f"/partners/{world.a.own[Organization]}/contacts/new", contact_form(**{field: value})
    )
    assert response.status_code == 422
    assert message.replace(",", "") in error_of(response, field).replace(",", "")
    assert "Nothing was saved yet" in text_of(response)
    typed = contact_form(**{field: value})
    for name in ("name", "title", "email", "phone", "phone_alt"):
        assert value_of(response, name) == typed[name]
    assert textarea(response, "notes") == typed["notes"]
    assert counts(app, world) == before


def test_bad_input_on_the_contact_edit_form_changes_nothing(app, world, login):
    client = login(world.a.admin)
    url = f"/partners/contacts/{world.a.own[Contact]}/edit"
    response = client.post(url, contact_form(email="not an email", name="Renamed"))
    assert response.status_code == 422
    assert "name@example.org" in error_of(response, "email")
    assert value_of(response, "name") == "Renamed"
    (director,) = stored(app, world, Contact, public_id=world.a.own[Contact])
    assert director.name.startswith("Director of") and director.notes == "Staff notes"


def test_a_partner_keeps_their_own_contacts_but_never_sees_or_sets_notes(app, world, login):
    client = login(world.a.partner)
    new_url = f"/partners/{world.a.own[Organization]}/contacts/new"
    form = client.get(new_url)
    assert form.status_code == 200
    assert 'name="notes"' not in form.get_data(as_text=True)
    assert "Staff only" not in text_of(form)

    response = client.post(new_url, contact_form(name="New Volunteer", notes="Sneaky"))
    assert response.status_code == 302
    (volunteer,) = stored(app, world, Contact, name="New Volunteer")
    assert volunteer.notes == "" and volunteer.organization_id == world.a.org_x_id

    edit_url = f"/partners/contacts/{world.a.own[Contact]}/edit"
    page = client.get(edit_url)
    assert page.status_code == 200 and "Staff notes" not in text_of(page)
    response = client.post(edit_url, contact_form(name="Dr. Lee", notes="Overwritten"))
    assert response.status_code == 302
    (director,) = stored(app, world, Contact, public_id=world.a.own[Contact])
    assert (director.name, director.notes) == ("Dr. Lee", "Staff notes")

    # another organization's contact, and adding to another organization: not there at all
    other = world.a.other_org
    assert client.get(f"/partners/contacts/{other[Contact]}/edit").status_code == 404
    assert (
        client.post(f"/partners/{other[Organization]}/contacts/new", contact_form()).status_code
        == 404
    )


def test_anyone_allowed_may_archive_a_contact(app, world, login):
    client = login(world.a.partner)
    response = client.post(f"/partners/contacts/{world.a.own[Contact]}/archive")
    assert response.status_code == 302
    (director,) = stored(app, world, Contact, public_id=world.a.own[Contact])
    assert director.archived_at is not None
    # the edit page no longer offers to archive it again; archiving twice changes nothing
    assert "Archive this contact" not in text_of(
        client.get(f"/partners/contacts/{world.a.own[Contact]}/edit")
    )
    assert client.post(f"/partners/contacts/{world.a.own[Contact]}/archive").status_code == 302


def test_viewers_read_only_and_partners_never_reach_the_log(app, world, login):
    before = counts(app, world)
    own = world.a.own
    forbidden = {
        "viewer": [
            ("GET", f"/partners/{own[Organization]}/contacts/new"),
            ("POST", f"/partners/{own[Organization]}/contacts/new"),
            ("GET", f"/partners/contacts/{own[Contact]}/edit"),
            ("POST", f"/partners/contacts/{own[Contact]}/edit"),
            ("POST", f"/partners/contacts/{own[Contact]}/archive"),
        ],
        "partner": [],
    }
    for role in ("viewer", "partner"):
        forbidden[role] += [
            ("GET", f"/partners/{own[Organization]}/activities/new"),
            ("POST", f"/partners/{own[Organization]}/activities/new"),
            ("GET", f"/partners/activities/{own[Activity]}/edit"),
            ("POST", f"/partners/activities/{own[Activity]}/edit"),
            ("POST", f"/partners/activities/{own[Activity]}/delete"),
        ]
    for role, requests in forbidden.items():
        client = login(world.a.members[role])
        for method, url in requests:
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, {**contact_form(), **activity_form()})
            assert response.status_code == 403, (role, method, url)
    assert counts(app, world) == before


# --- activities -------------------------------------------------------------------------------


def activity_form(**changes) -> dict:
    data = {
        "kind": "tour",
        "occurred_at": "2025-07-15T10:00",
        "facility": "",
        "summary": "Walked Unit F and the classroom.",
        "outcome": "They want to start in the fall.",
        "next_step": "",
        "next_step_due": "",
        "next_step_time": "09:00",
        "next_step_assignee": "",
    }
    data.update(changes)
    return data


def post_multi(client: Client, url: str, data: dict, **lists):
    """A form with repeated fields (checkboxes), as a browser sends it."""
    pairs = [(k, v) for k, v in data.items()] + [
        (k, str(v)) for k, values in lists.items() for v in values
    ]
    pairs.append(("csrf_token", client.csrf()))
    from werkzeug.datastructures import MultiDict

    return client.http.post(url, data=MultiDict(pairs))


def test_the_new_activity_form_starts_now_on_the_workspace_clock(app, world, login):
    with clock.frozen(SUMMER_NOW):  # 12:00 in Chicago (CDT)
        client = login(world.a.staff)
        page = client.get(f"/partners/{world.a.own[Organization]}/activities/new")
    assert page.status_code == 200
    assert value_of(page, "occurred_at") == "2025-07-20T12:00"
    assert "America/Chicago" in text_of(page)
    advance = re.search(r'<input[^>]*name="advance_stage"[^>]*>', page.get_data(as_text=True))
    assert " checked" in advance.group(0)  # a tour moves the organization on unless unticked


@pytest.mark.parametrize(
    ("now", "occurred", "occurred_utc", "due", "due_utc"),
    [
        (  # daylight saving time in Chicago: UTC-5
            SUMMER_NOW,
            "2025-07-15T10:00",
            datetime(2025, 7, 15, 15, 0, tzinfo=UTC),
            "2025-07-22",
            datetime(2025, 7, 22, 14, 30, tzinfo=UTC),
        ),
        (  # winter: UTC-6
            WINTER_NOW,
            "2025-01-14T10:00",
            datetime(2025, 1, 14, 16, 0, tzinfo=UTC),
            "2025-01-21",
            datetime(2025, 1, 21, 15, 30, tzinfo=UTC),
        ),
    ],
)
def test_logging_a_tour_makes_one_follow_up_and_moves_the_organization(
    app, world, login, now, occurred, occurred_utc, due, due_utc
):
    """Journey 3: the tour of organization Y with its two visitors and the officers."""
    with app.app_context(), workspace_context(world.a.id):
        organization = db.session.execute(
            select(Organization).where(Organization.id == world.a.org_y_id)
        ).scalar_one()
        visitors = [
            outreach.create_contact(organization, outreach.ContactInput(name=name))
            for name in ("Ana Diaz", "Ben Ortiz")
        ]
        visitor_ids = [str(v.public_id) for v in visitors]
        db.session.commit()
    officers = [str(world.a.staff.membership_public_id), str(world.a.admin.membership_public_id)]
    before = counts(app, world)
    with clock.frozen(now):
        client = login(world.a.staff)
        response = post_multi(
            client,
            f"/partners/{world.a.other_org[Organization]}/activities/new",
            activity_form(
                occurred_at=occurred,
                facility=str(world.a.own[Facility]),
                next_step="Call the director",
                next_step_due=due,
                next_step_time="09:30",
                advance_stage="y",
            ),
            contacts=visitor_ids,
            staff=officers,
        )
        assert response.status_code == 302, text_of(response)[:2000]
        assert response.location.endswith("#activities")
        page = client.get(response.location)
        assert "The tour was logged. Its next step is on the follow-up list." in text_of(page)
    after = counts(app, world)
    assert after == {
        **before,
        "Activity": before["Activity"] + 1,
        "ActivityAttendee": before["ActivityAttendee"] + 4,
        "FollowUp": before["FollowUp"] + 1,
        "StageChange": before["StageChange"] + 1,
    }
    (follow_up,) = stored(app, world, FollowUp, title="Call the director")
    assert follow_up.due_at == due_utc
    assert follow_up.subject_id == world.a.other_org[Organization]
    (activity,) = stored(
        app, world, Activity, organization_id=world.a.org_y_id, kind=ActivityKind.TOUR
    )
    assert activity.occurred_at == occurred_utc
    (organization,) = stored(app, world, Organization, id=world.a.org_y_id)
    assert organization.stage is Stage.TOURED


def other_org_contact(world) -> str:
    return str(world.a.other_org[Contact])


@pytest.mark.parametrize(
    ("changes", "lists", "field", "message"),
    [
        ({"kind": "party"}, {}, "kind", "Choose a kind from the list."),
        ({"occurred_at": "last tuesday"}, {}, "occurred_at", "Enter a date and time like"),
        ({"occurred_at": ""}, {}, "occurred_at", "Enter the date and time it took place."),
        ({"occurred_at": "2025-03-09T02:30"}, {}, "occurred_at", "does not exist"),
        ({"occurred_at": "2025-09-01T10:00"}, {}, "occurred_at", "once it has taken place"),
        ({"occurred_at": "0001-01-01T00:00"}, {}, "occurred_at", "between 1900 and 2100"),
        ({"summary": "   "}, {}, "summary", "Say briefly what happened."),
        ({"next_step_due": "soon", "next_step": "Call"}, {}, "next_step_due", "Enter a date"),
        ({"next_step_time": "9h", "next_step": "Call"}, {}, "next_step_time", "Enter a time"),
        ({"next_step_due": "2025-07-22"}, {}, "next_step", "Say what the next step is"),
        ({"facility": "not-a-facility"}, {}, "facility", "Choose a facility from the list."),
        ({}, {"contacts": ["other-org"]}, "contacts", "people of this organization"),
        ({}, {"staff": ["partner"]}, "staff", "staff members of this workspace"),
        ({"next_step_assignee": "partner"}, {}, "next_step_assignee", "Choose a staff member"),
    ],
)
def test_bad_activity_input_shows_the_form_again_with_the_typing_kept(
    app, world, login, changes, lists, field, message
):
    stand_ins = {
        "other-org": str(world.a.other_org[Contact]),  # organization Y's contact, on X's page
        "partner": str(world.a.partner.membership_public_id),
    }
    changes = {k: stand_ins.get(v, v) for k, v in changes.items()}
    lists = {k: [stand_ins.get(v, v) for v in values] for k, values in lists.items()}
    own_contact = str(world.a.own[Contact])
    before = counts(app, world)
    with clock.frozen(SUMMER_NOW):
        client = login(world.a.staff)
        response = post_multi(
            client,
            f"/partners/{world.a.own[Organization]}/activities/new",
            activity_form(**changes),
            **{"contacts": [own_contact], **lists},
        )
    assert response.status_code == 422, text_of(response)[:1000]
    assert message in (error_of(response, field) or ""), error_of(response, field)
    assert "Nothing was saved yet" in text_of(response)
    typed = activity_form(**changes)
    assert value_of(response, "occurred_at") == typed["occurred_at"]
    assert textarea(response, "summary") == typed["summary"].strip() or field == "summary"
    if field != "contacts":
        assert checked(response, "contacts") == {own_contact}
    assert counts(app, world) == before


def test_a_contact_of_workspace_b_is_refused_like_any_unknown_choice(app, world, login):
    before = counts(app, world)
    with clock.frozen(SUMMER_NOW):
        client = login(world.a.admin)
        response = post_multi(
            client,
            f"/partners/{world.a.own[Organization]}/activities/new",
            activity_form(),
            contacts=[str(world.b.own[Contact])],
            staff=[str(world.b.staff.membership_public_id)],
        )
    assert response.status_code == 422
    assert "people of this organization" in error_of(response, "contacts")
    assert "staff members of this workspace" in error_of(response, "staff")
    assert counts(app, world) == before


def test_editing_an_activity_shows_it_on_the_workspace_clock_and_saves_changes(app, world, login):
    with app.app_context(), workspace_context(world.a.id):
        activity = db.session.execute(
            select(Activity).where(Activity.public_id == world.a.own[Activity])
        ).scalar_one()
        local = outreach.local_wall_clock(activity.occurred_at, "America/Chicago")
    client = login(world.a.admin)
    url = f"/partners/activities/{world.a.own[Activity]}/edit"
    page = client.get(url)
    assert page.status_code == 200
    assert value_of(page, "occurred_at") == local.strftime("%Y-%m-%dT%H:%M")
    assert checked(page, "contacts") == {str(world.a.own[Contact])}
    assert textarea(page, "summary").startswith("Called")
    before = counts(app, world)
    response = post_multi(
        client,
        url,
        activity_form(kind="meeting", occurred_at="2025-07-15T10:00", summary="Met instead."),
        staff=[str(world.a.admin.membership_public_id)],
    )
    assert response.status_code == 302
    (activity,) = stored(app, world, Activity, public_id=world.a.own[Activity])
    assert (activity.kind, activity.summary) == (ActivityKind.MEETING, "Met instead.")
    assert activity.occurred_at == datetime(2025, 7, 15, 15, 0, tzinfo=UTC)
    # the contact was unticked, the admin ticked: one row out, one in; no follow-up
    assert counts(app, world) == before

    bad = post_multi(client, url, activity_form(summary=""))
    assert bad.status_code == 422 and error_of(bad, "summary")
    (activity,) = stored(app, world, Activity, public_id=world.a.own[Activity])
    assert activity.summary == "Met instead."


def test_deleting_an_activity(app, world, login):
    client = login(world.a.staff)
    before = counts(app, world)
    response = client.post(f"/partners/activities/{world.a.own[Activity]}/delete")
    assert response.status_code == 302
    assert response.location.endswith(f"/partners/{world.a.own[Organization]}#activities")
    assert stored(app, world, Activity, public_id=world.a.own[Activity]) == []
    after = counts(app, world)
    assert after["Activity"] == before["Activity"] - 1
    assert after["ActivityAttendee"] == before["ActivityAttendee"] - 1
    assert after["FollowUp"] == before["FollowUp"]


# --- the partials ---------------------------------------------------------------------------


PARTIALS = '{% include "partners/_contacts.html" %}{% include "partners/_activities.html" %}'


@pytest.fixture(scope="module")
def probe(app):
    """An app with one more page that renders the two partials as the organization page does
    (the page itself is another engineer's; this keeps the measure to what the partials cost)."""
    extra = Blueprint("outreach_probe", __name__)

    @extra.get("/probe/<uuid:organization_id>")
    @allow(*ALL_ROLES)
    def partials(organization_id):
        organization = get_or_404(Organization, organization_id)
        contacts, activities = outreach.outreach_for(organization)
        return render_template_string(
            PARTIALS, organization=organization, contacts=contacts, activities=activities
        )

    fresh = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"])
    fresh.register_blueprint(extra)
    return fresh


def log_entries(app, world, organization_public_id, numbers) -> None:
    """Activities of many shapes: with or without a facility, zero to three visitors, one or
    two officers, different authors."""
    with app.app_context(), workspace_context(world.a.id), clock.frozen(SUMMER_NOW):
        organization = db.session.execute(
            select(Organization).where(Organization.public_id == organization_public_id)
        ).scalar_one()
        people = outreach.contacts_of(organization)
        staff = outreach.staff_members()
        facility = db.session.execute(select(Facility)).scalars().first()
        for n in numbers:
            outreach.log_activity(
                organization,
                outreach.ActivityInput(
                    kind=ActivityKind.TOUR if n % 2 else ActivityKind.CALL,
                    occurred_at=datetime(2025, 6, 1 + n % 28, 9, n % 60),
                    facility=facility.public_id if n % 3 else None,
                    contacts=[p.public_id for p in people[: n % 4]],
                    staff=[m.public_id for m in staff[: 1 + n % 2]],
                    summary=f"Entry {n}",
                ),
                by=staff[n % len(staff)],
            )
        db.session.commit()


def test_the_partials_cost_the_same_for_1_and_40_activities(app, world, probe):
    with app.app_context(), workspace_context(world.a.id):
        organization = Organization(name="Harbor Parenting Circle", kind=OrganizationKind.OTHER)
        db.session.add(organization)
        db.session.flush()
        for n in range(3):
            outreach.create_contact(organization, outreach.ContactInput(name=f"Visitor {n}"))
        public_id = organization.public_id
        db.session.commit()
    url = f"/probe/{public_id}"
    client = Client(probe).login(world.a.admin)

    log_entries(app, world, public_id, [0])
    one = queries_of(app, client, url)
    page = text_of(client.get(url))
    assert page.count('class="border-bottom py-2 activity"') == 1
    assert "Visitor 0" in page and "Log an activity" in page

    log_entries(app, world, public_id, range(1, 40))
    many = queries_of(app, client, url)
    page = text_of(client.get(url))
    assert page.count('class="border-bottom py-2 activity"') == 40
    assert "Visitor 2" in page and "Entry 39" in page
    assert many == one, (one, many)


def test_the_organization_page_costs_the_same_for_1_and_40_activities(app, world):
    """The same measure on the real page, which includes the partials."""
    with app.app_context(), workspace_context(world.a.id):
        organization = Organization(name="Harbor Parenting Circle", kind=OrganizationKind.OTHER)
        db.session.add(organization)
        db.session.flush()
        for n in range(3):
            outreach.create_contact(organization, outreach.ContactInput(name=f"Visitor {n}"))
        public_id = organization.public_id
        db.session.commit()
    url = f"/partners/{public_id}"
    client = Client(app).login(world.a.admin)
    log_entries(app, world, public_id, [0])
    one = queries_of(app, client, url)
    log_entries(app, world, public_id, range(1, 40))
    many = queries_of(app, client, url)
    assert text_of(client.get(url)).count('class="border-bottom py-2 activity"') == 40
    assert many == one, (one, many)


def test_the_partials_show_partners_their_contacts_without_notes_or_log(app, world, probe):
    url = f"/probe/{world.a.own[Organization]}"
    staff_page = text_of(Client(probe).login(world.a.staff).get(url))
    assert "Staff notes" in staff_page and "Outreach log" in staff_page
    assert f'href="mailto:director{world.a.org_x_id}@a.example"' in staff_page
    for role in ("partner", "viewer"):
        page = text_of(Client(probe).login(world.a.members[role]).get(url))
        assert "Director of A Partner Org X" in page
        assert "Staff notes" not in page and "Outreach log" not in page
        assert "Called" not in page
        assert ("Add a contact" in page) is (role == "partner")
