"""Contacts and the outreach log, at the level of their services: what is checked before
anything is written, times on the workspace's clock stored in UTC, the follow-up a dated next
step makes, the stage a tour reaches, and the page's loading in a fixed number of statements."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
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
from crm.partners.outreach import ActivityInput, ContactInput, InvalidInput
from crm.tenancy import workspace_context
from crm.workspaces.models import Membership
from tests.querycount import count_queries

# Workspace A keeps the time of America/Chicago: CDT (UTC-5) in July, CST (UTC-6) in January.
SUMMER_NOW = datetime(2025, 7, 20, 17, 0, tzinfo=UTC)
WINTER_NOW = datetime(2025, 1, 20, 18, 0, tzinfo=UTC)


# --- the world, loaded in the test's scope ----------------------------------------------------


def org(side, which: str = "x") -> Organization:
    return db.session.execute(
        select(Organization).where(
            Organization.id == (side.org_x_id if which == "x" else side.org_y_id)
        )
    ).scalar_one()


def member(side, role: str) -> Membership:
    public_id = side.members[role].membership_public_id
    return db.session.execute(
        select(Membership).where(Membership.public_id == public_id)
    ).scalar_one()


def by_public_id(model, public_id):
    return db.session.execute(select(model).where(model.public_id == public_id)).scalar_one()


def counts() -> dict[str, int]:
    return {
        model.__name__: db.session.execute(select(func.count(model.id))).scalar_one()
        for model in (Contact, Activity, ActivityAttendee, FollowUp, StageChange)
    }


def new_organization(name: str = "Harbor Parenting Circle") -> Organization:
    organization = Organization(name=name, kind=OrganizationKind.CHILD_WELFARE)
    db.session.add(organization)
    db.session.flush()
    return organization


def contact(organization: Organization, name: str, **extra) -> Contact:
    return outreach.create_contact(organization, ContactInput(name=name, **extra))


def tour(**changes) -> ActivityInput:
    """Journey 3: the tour with two visitors and the officer who walked them."""
    values = {
        "kind": ActivityKind.TOUR,
        "occurred_at": datetime(2025, 7, 15, 10, 0),
        "summary": "Walked Unit F and the classroom.",
        "outcome": "They want to start in the fall.",
    }
    values.update(changes)
    return ActivityInput(**values)


# --- contacts ---------------------------------------------------------------------------------


def test_a_contact_is_added_with_its_text_tidied(app, world):
    with app.app_context(), workspace_context(world.a.id):
        made = contact(
            org(world.a),
            "  Ana   Diaz ",
            title=" Director ",
            email=" ana.diaz+intake@harbor.example ",
            phone="(312) 555-0100 x12",
            phone_alt="+1 312 555 0199",
            notes="  Prefers calls before noon. ",
        )
        db.session.expire_all()
        stored = by_public_id(Contact, made.public_id)
        assert (stored.name, stored.name_key, stored.title) == ("Ana Diaz", "ana diaz", "Director")
        assert stored.email == "ana.diaz+intake@harbor.example"
        assert (stored.phone, stored.phone_alt) == ("(312) 555-0100 x12", "+1 312 555 0199")
        assert stored.notes == "Prefers calls before noon."
        assert stored.organization_id == world.a.org_x_id


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "Enter the contact's name."),
        ({"name": "x" * 201}, "name", "at most 200"),
        ({"title": "t" * 201}, "title", "at most 200"),
        ({"email": "312 555 0100"}, "email", "like name@example.org"),
        ({"email": "ana@harbor"}, "email", "like name@example.org"),
        ({"email": "ana@harbor.example?bcc=someone@else.example"}, "email", "name@example.org"),
        ({"phone": "call the front desk"}, "phone", "phone number"),
        ({"phone": "555"}, "phone", "phone number"),
        ({"phone_alt": "1" * 41}, "phone_alt", "at most 40"),
        ({"notes": "n" * 10_001}, "notes", "at most 10,000"),
        ({"name": "Ana\x00"}, "name", "NUL"),
    ],
)
def test_a_contact_with_bad_input_is_refused_and_nothing_is_written(
    app, world, changes, field, message
):
    with app.app_context(), workspace_context(world.a.id):
        before = counts()
        data = {"name": "Ana Diaz", **changes}
        with pytest.raises(InvalidInput) as refused:
            contact(org(world.a), **data)
        assert message in refused.value.errors[field]
        assert counts() == before


def test_phones_are_loose_but_become_tel_links():
    assert outreach.tel_uri("(312) 555-0100") == "tel:3125550100"
    assert outreach.tel_uri("+1 312.555.0100 ext. 12") == "tel:+13125550100;ext=12"
    assert outreach.tel_uri("ask for Ana") == ""
    assert outreach.tel_uri("") == ""


def test_updating_a_contact_without_notes_keeps_the_staff_notes(app, world):
    with app.app_context(), workspace_context(world.a.id):
        director = by_public_id(Contact, world.a.own[Contact])
        outreach.update_contact(director, ContactInput(name="Dr. Lee", title="Director"))
        db.session.expire_all()
        director = by_public_id(Contact, world.a.own[Contact])
        assert (director.name, director.title, director.notes) == (
            "Dr. Lee",
            "Director",
            "Staff notes",
        )


def test_a_partner_scope_can_never_set_notes(app, world):
    """The views never pass notes for partners; the service refuses them anyway."""
    with (
        app.app_context(),
        workspace_context(world.a.id, organization_id=world.a.org_x_id, hide_staff_only=True),
    ):
        own = org(world.a)
        with pytest.raises(outreach.StaffOnlyField):
            contact(own, "Volunteer", notes="I can write staff notes?")
        made = contact(own, "Volunteer")  # without notes: fine
        assert made.organization_id == world.a.org_x_id


def test_archived_contacts_leave_the_list_but_stay_with_their_activities(app, world):
    with app.app_context(), workspace_context(world.a.id):
        director = by_public_id(Contact, world.a.own[Contact])
        outreach.archive_contact(director)
        contacts, activities = outreach.outreach_for(org(world.a))
        assert director not in contacts
        assert [outreach.attendee_name(a) for a in activities[0].attendees] == [director.name]


def test_no_contact_is_added_to_an_archived_organization(app, world):
    with app.app_context(), workspace_context(world.a.id):
        organization = org(world.a)
        organization.archived_at = clock.now()
        with pytest.raises(InvalidInput) as refused:
            contact(organization, "Ana Diaz")
        assert "archived" in refused.value.errors["organization"]


# --- activities: time, attendees, next step, stage --------------------------------------------


@pytest.mark.parametrize(
    ("now", "entered", "stored"),
    [
        (SUMMER_NOW, datetime(2025, 7, 15, 10, 0), datetime(2025, 7, 15, 15, 0, tzinfo=UTC)),
        (WINTER_NOW, datetime(2025, 1, 14, 10, 0), datetime(2025, 1, 14, 16, 0, tzinfo=UTC)),
    ],
)
def test_the_time_is_entered_on_the_workspace_clock_and_stored_in_utc(
    app, world, now, entered, stored
):
    with app.app_context(), workspace_context(world.a.id), clock.frozen(now):
        activity = outreach.log_activity(
            org(world.a), tour(occurred_at=entered), by=member(world.a, "staff")
        )
        db.session.expire_all()
        assert by_public_id(Activity, activity.public_id).occurred_at == stored


def test_a_time_the_clocks_skip_is_refused(app, world):
    """02:30 on 9 March 2025 never happened in Chicago (clocks jumped from 2:00 to 3:00)."""
    with app.app_context(), workspace_context(world.a.id), clock.frozen(SUMMER_NOW):
        before = counts()
        with pytest.raises(InvalidInput) as refused:
            outreach.log_activity(
                org(world.a),
                tour(occurred_at=datetime(2025, 3, 9, 2, 30)),
                by=member(world.a, "staff"),
            )
        assert "does not exist" in refused.value.errors["occurred_at"]
        assert counts() == before


@pytest.mark.parametrize(
    ("now", "occurred", "due", "due_utc"),
    [
        (  # daylight saving time: 9:30 CDT is 14:30 UTC
            SUMMER_NOW,
            datetime(2025, 7, 15, 10, 0),
            datetime(2025, 7, 22, 9, 30),
            datetime(2025, 7, 22, 14, 30, tzinfo=UTC),
        ),
        (  # winter: 9:30 CST is 15:30 UTC
            WINTER_NOW,
            datetime(2025, 1, 14, 10, 0),
            datetime(2025, 1, 21, 9, 30),
            datetime(2025, 1, 21, 15, 30, tzinfo=UTC),
        ),
    ],
)
def test_a_dated_next_step_makes_exactly_one_follow_up_due_then(
    app, world, now, occurred, due, due_utc
):
    with app.app_context(), workspace_context(world.a.id), clock.frozen(now):
        organization, staff = org(world.a), member(world.a, "staff")
        before = counts()
        outreach.log_activity(
            organization,
            tour(occurred_at=occurred, next_step="Call the director", next_step_due=due),
            by=staff,
        )
        assert counts()["FollowUp"] == before["FollowUp"] + 1
        follow_up = db.session.execute(
            select(FollowUp).where(FollowUp.title == "Call the director")
        ).scalar_one()
        assert follow_up.due_at == due_utc
        assert follow_up.timezone == "America/Chicago"
        assert (follow_up.subject_kind, follow_up.subject_id) == (
            "organization",
            organization.public_id,
        )
        assert follow_up.assignee_id == staff.id  # the author, when nobody else is chosen
        assert follow_up.created_by_id == staff.id


def test_the_next_step_can_go_to_another_staff_member(app, world):
    with app.app_context(), workspace_context(world.a.id), clock.frozen(SUMMER_NOW):
        admin = member(world.a, "admin")
        outreach.log_activity(
            org(world.a),
            tour(
                next_step="Send the cross-training proposal",
                next_step_due=datetime(2025, 7, 29, 9, 0),
                next_step_assignee=admin.public_id,
            ),
            by=member(world.a, "staff"),
        )
        follow_up = db.session.execute(
            select(FollowUp).where(FollowUp.title == "Send the cross-training proposal")
        ).scalar_one()
        assert follow_up.assignee_id == admin.id


def test_a_long_next_step_is_shortened_for_the_follow_up_title(app, world):
    with app.app_context(), workspace_context(world.a.id), clock.frozen(SUMMER_NOW):
        step = "Call the director about " + "the fall schedule and the volunteers " * 10
        outreach.log_activity(
            org(world.a),
            tour(next_step=step, next_step_due=datetime(2025, 7, 22, 9, 0)),
            by=member(world.a, "staff"),
        )
        follow_up = db.session.execute(
            select(FollowUp).where(FollowUp.title.startswith("Call the director about"))
        ).scalar_one()
        assert len(follow_up.title) <= 200 and follow_up.title.endswith("…")
        assert follow_up.notes == step.strip()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"kind": "party"}, "kind", "Choose a kind"),
        ({"occurred_at": None}, "occurred_at", "Enter the date and time"),
        ({"occurred_at": datetime(9999, 12, 31, 23, 0)}, "occurred_at", "between 1900 and 2100"),
        ({"occurred_at": datetime(2025, 8, 30, 10, 0)}, "occurred_at", "once it has taken place"),
        ({"summary": " "}, "summary", "Say briefly what happened."),
        ({"summary": "s" * 10_001}, "summary", "at most 10,000"),
        ({"outcome": "o\x00"}, "outcome", "NUL"),
        ({"next_step": "n" * 1_001}, "next_step", "at most 1,000"),
        ({"next_step_due": datetime(2025, 7, 22, 9, 0)}, "next_step", "Say what the next step"),
        (
            {"next_step": "Call", "next_step_due": datetime(2025, 7, 14, 9, 0)},
            "next_step_due",
            "comes after the activity",
        ),
        (
            {"next_step": "Call", "next_step_due": datetime(2025, 3, 9, 2, 15)},
            "next_step_due",
            "does not exist",
        ),
        ({"facility": "not-an-id"}, "facility", "Choose a facility"),
        ({"contacts": ["not-an-id"]}, "contacts", "people of this organization"),
        ({"staff": ["not-an-id"]}, "staff", "staff members of this workspace"),
        (
            {
                "next_step": "Call",
                "next_step_due": datetime(2025, 7, 22),
                "next_step_assignee": "x",
            },
            "next_step_assignee",
            "Choose a staff member",
        ),
    ],
)
def test_an_activity_with_bad_input_is_refused_and_nothing_is_written(
    app, world, changes, field, message
):
    with app.app_context(), workspace_context(world.a.id), clock.frozen(SUMMER_NOW):
        before = counts()
        with pytest.raises(InvalidInput) as refused:
            outreach.log_activity(org(world.a), tour(**changes), by=member(world.a, "staff"))
        assert message in refused.value.errors[field], refused.value.errors
        assert counts() == before


def test_attendees_of_another_organization_or_workspace_are_refused(app, world):
    """The form lists only this organization's contacts; the service checks again, so a
    hand-made request (or a later API) gets a field error, never a row."""
    with app.app_context(), workspace_context(world.a.id), clock.frozen(SUMMER_NOW):
        organization, staff = org(world.a), member(world.a, "staff")
        partner = member(world.a, "partner")
        before = counts()
        attempts = [
            ({"contacts": [world.a.other_org[Contact]]}, "contacts"),  # organization Y's
            ({"contacts": [world.b.own[Contact]]}, "contacts"),  # workspace B's
            ({"staff": [partner.public_id]}, "staff"),  # a partner is not staff
            ({"staff": [world.b.staff.membership_public_id]}, "staff"),  # B's officer
            ({"facility": world.b.own[Facility]}, "facility"),  # B's jail
            (
                {
                    "next_step": "Call",
                    "next_step_due": datetime(2025, 7, 22, 9, 0),
                    "next_step_assignee": world.b.admin.membership_public_id,
                },
                "next_step_assignee",
            ),
        ]
        for changes, field in attempts:
            with pytest.raises(InvalidInput) as refused:
                outreach.log_activity(organization, tour(**changes), by=staff)
            assert set(refused.value.errors) == {field}, changes
        assert counts() == before


def test_a_tour_with_its_visitors_and_officers_moves_the_organization_to_toured(app, world):
    """Journey 3: two visitors, the officers who walked them, the stage moves on."""
    with app.app_context(), workspace_context(world.a.id), clock.frozen(SUMMER_NOW):
        organization = org(world.a, "y")  # identified
        visitors = [contact(organization, "Ana Diaz"), contact(organization, "Ben Ortiz")]
        officers = [member(world.a, "staff"), member(world.a, "admin")]
        facility = by_public_id(Facility, world.a.own[Facility])
        activity = outreach.log_activity(
            organization,
            tour(
                facility=facility.public_id,
                contacts=[c.public_id for c in visitors],
                staff=[m.public_id for m in officers],
                advance_stage=True,
            ),
            by=officers[0],
        )
        assert organization.stage is Stage.TOURED
        change = db.session.execute(
            select(StageChange).where(
                StageChange.organization_id == organization.id,
                StageChange.to_stage == Stage.TOURED,
            )
        ).scalar_one()
        assert (change.from_stage, change.changed_by_id) == (Stage.IDENTIFIED, officers[0].id)
        db.session.expire_all()
        _contacts, activities = outreach.outreach_for(org(world.a, "y"))
        (logged,) = [a for a in activities if a.public_id == activity.public_id]
        names = [outreach.attendee_name(a) for a in logged.attendees]
        assert names == ["Ana Diaz", "Ben Ortiz", "Admin a", "Staff a"]  # visitors first
        assert logged.facility.name == facility.name


@pytest.mark.parametrize(
    ("kind", "stage", "advance", "expected"),
    [
        (ActivityKind.CROSS_TRAINING, Stage.TOURED, True, Stage.CROSS_TRAINED),
        (ActivityKind.TOUR, Stage.CONTACTED, False, Stage.CONTACTED),  # not asked
        (ActivityKind.TOUR, Stage.AGREEMENT, True, Stage.AGREEMENT),  # already further on
        (ActivityKind.TOUR, Stage.TOURED, True, Stage.TOURED),  # already there
        (ActivityKind.TOUR, Stage.PAUSED, True, Stage.PAUSED),  # off the pipeline
        (ActivityKind.CALL, Stage.IDENTIFIED, True, Stage.IDENTIFIED),  # calls move nothing
    ],
)
def test_only_tours_and_cross_trainings_move_the_stage_and_only_forward(
    app, world, kind, stage, advance, expected
):
    with app.app_context(), workspace_context(world.a.id), clock.frozen(SUMMER_NOW):
        organization = org(world.a, "y")
        organization.stage = stage
        db.session.flush()
        before = counts()["StageChange"]
        outreach.log_activity(
            organization, tour(kind=kind, advance_stage=advance), by=member(world.a, "staff")
        )
        assert organization.stage is expected
        assert counts()["StageChange"] == before + (expected is not stage)


def test_editing_an_activity_changes_its_attendees_and_makes_no_second_follow_up(app, world):
    with app.app_context(), workspace_context(world.a.id), clock.frozen(SUMMER_NOW):
        organization, staff = org(world.a), member(world.a, "staff")
        ana, ben = contact(organization, "Ana Diaz"), contact(organization, "Ben Ortiz")
        activity = outreach.log_activity(
            organization,
            tour(
                contacts=[ana.public_id],
                next_step="Call Ana",
                next_step_due=datetime(2025, 7, 22, 9, 0),
            ),
            by=staff,
        )
        before = counts()
        outreach.update_activity(
            activity,
            organization,
            tour(
                kind=ActivityKind.MEETING,
                contacts=[ben.public_id],
                staff=[staff.public_id],
                summary="Met at their office.",
                next_step="Call Ana",
            ),
            by=member(world.a, "admin"),
        )
        db.session.expire_all()
        activity, _organization = outreach.load_activity(activity.public_id)
        assert activity.kind is ActivityKind.MEETING
        assert activity.author_id == staff.id  # the author stays who logged it
        attending = {(a.contact_id, a.membership_id) for a in activity.attendees}
        assert attending == {(ben.id, None), (None, staff.id)}
        assert counts() == {**before, "ActivityAttendee": before["ActivityAttendee"] + 1}


def test_deleting_an_activity_removes_its_attendees_and_keeps_its_follow_ups(app, world):
    with app.app_context(), workspace_context(world.a.id), clock.frozen(SUMMER_NOW):
        organization = org(world.a)
        activity = outreach.log_activity(
            organization,
            tour(
                contacts=[world.a.own[Contact]],
                next_step="Call",
                next_step_due=datetime(2025, 7, 22, 9, 0),
            ),
            by=member(world.a, "staff"),
        )
        before = counts()
        loaded, _organization = outreach.load_activity(activity.public_id)
        outreach.delete_activity(loaded)
        assert counts() == {
            **before,
            "Activity": before["Activity"] - 1,
            "ActivityAttendee": before["ActivityAttendee"] - 1,
        }


# --- the organization page's loading ----------------------------------------------------------


def test_outreach_for_lists_newest_first_and_partners_get_no_activities(app, world):
    with app.app_context():
        with workspace_context(world.a.id), clock.frozen(SUMMER_NOW):
            organization = org(world.a)
            for day in (3, 9, 6):
                outreach.log_activity(
                    organization,
                    tour(kind=ActivityKind.CALL, occurred_at=datetime(2025, 7, day, 9, 0)),
                    by=member(world.a, "staff"),
                )
            _contacts, activities = outreach.outreach_for(organization)
            days = [a.occurred_at.day for a in activities]
            assert days[:3] == sorted(days[:3], reverse=True)
            db.session.commit()
            db.session.expunge_all()  # a new scope starts from an empty identity map
        with workspace_context(world.a.id, organization_id=world.a.org_x_id, hide_staff_only=True):
            with count_queries(app) as statements:
                contacts, activities = outreach.outreach_for(org(world.a))
            assert list(activities) == []
            assert len(statements) == 2  # the organization, its contacts: no activity query
            assert contacts and all(c.notes is None for c in contacts)


def test_outreach_for_costs_the_same_for_1_and_40_activities(app, world):
    with app.app_context(), workspace_context(world.a.id), clock.frozen(SUMMER_NOW):
        organization = new_organization()
        facility = by_public_id(Facility, world.a.own[Facility])
        people = [contact(organization, f"Visitor {n}") for n in range(3)]
        staff = [member(world.a, "staff"), member(world.a, "admin")]

        def log(n: int):
            outreach.log_activity(
                organization,
                tour(
                    occurred_at=datetime(2025, 6, 1 + n % 28, 9, 0),
                    facility=facility.public_id,
                    contacts=[p.public_id for p in people[: 1 + n % 3]],
                    staff=[m.public_id for m in staff[: 1 + n % 2]],
                ),
                by=staff[n % 2],
            )

        def cost() -> tuple[int, int]:
            db.session.expire_all()
            _ = organization.stage  # reloaded here, not counted
            with count_queries(app) as statements:
                _contacts, activities = outreach.outreach_for(organization)
                for activity in activities:  # everything the partials read
                    _ = activity.author.user.name, activity.facility.name
                    _ = [outreach.attendee_name(a) for a in activity.attendees]
            return len(statements), len(activities)

        log(0)
        one = cost()
        for n in range(1, 40):
            log(n)
        assert cost() == (one[0], 40)
        assert one == (3, 1)  # contacts; activities with author and facility; attendees
