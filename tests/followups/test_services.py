"""Follow-up services: what a follow-up may be about, the checks of every write, the states
(done, snoozed, reopened, cancelled), the next due of a cadence on the local wall clock across
daylight-saving changes, and the bounds of "my follow-ups" in the workspace's calendar."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm import clock
from crm.extensions import db
from crm.facilities.models import Facility
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.services import (
    OVERDUE_BADGE_CAP,
    TITLE_MAX,
    FollowUpError,
    agenda_bounds,
    cancel_follow_up,
    cancel_for_subject,
    clean_cadence,
    complete_follow_up,
    count_overdue,
    create_follow_up,
    local_moment,
    next_due,
    pending_follow_ups,
    reassign_follow_up,
    reopen_follow_up,
    series_of,
    snooze_follow_up,
    snooze_target,
    update_follow_up,
)
from crm.partners.models import Organization
from crm.tenancy import workspace_context
from crm.workspaces.models import Membership

CHICAGO = ZoneInfo("America/Chicago")
DENVER = ZoneInfo("America/Denver")


def chicago(*args) -> datetime:
    """A wall-clock time in Chicago (workspace A's zone), as an aware UTC time."""
    return datetime(*args, tzinfo=CHICAGO).astimezone(UTC)


def member(public_id: uuid.UUID) -> Membership:
    return db.session.execute(
        select(Membership).where(Membership.public_id == public_id)
    ).scalar_one()


def org_x(world) -> uuid.UUID:
    return world.a.own[Organization]


def make(world, due_at: datetime, *, assignee=None, subject=None, kind="organization", **extra):
    return create_follow_up(
        subject_kind=kind,
        subject_id=subject or org_x(world),
        title=extra.pop("title", "Monthly check-in with the parenting program"),
        assignee=assignee or member(world.a.staff.membership_public_id),
        due_at=due_at,
        **extra,
    )


def reload(follow_up: FollowUp) -> FollowUp:
    db.session.expire_all()
    return db.session.execute(select(FollowUp).where(FollowUp.id == follow_up.id)).scalar_one()


def errors_of(call) -> dict[str, str]:
    with pytest.raises(FollowUpError) as caught:
        call()
    return caught.value.errors


# --- what a follow-up may be about ----------------------------------------------------------


def test_a_follow_up_about_an_organization_keeps_the_workspace_zone(app, world):
    with app.app_context(), workspace_context(world.a.id):
        follow_up = make(world, chicago(2026, 3, 1, 9, 0), notes="  Ask about Tuesdays.  ")
        assert follow_up.subject_kind == "organization"
        assert follow_up.subject_id == org_x(world)
        assert follow_up.timezone == "America/Chicago"
        assert follow_up.status is FollowUpStatus.OPEN
        assert follow_up.notes == "Ask about Tuesdays."
        assert follow_up.workspace_id == world.a.id


def test_a_follow_up_about_a_facility_keeps_the_facility_zone(app, world):
    with app.app_context(), workspace_context(world.a.id):
        facility = Facility(name="Mountain Annex", timezone="America/Denver")
        db.session.add(facility)
        db.session.flush()
        follow_up = make(world, chicago(2026, 3, 1, 9), kind="facility", subject=facility.public_id)
        assert follow_up.timezone == "America/Denver"


@pytest.mark.parametrize(
    ("kind", "which", "message"),
    [
        ("booking", "own", "cannot be about"),  # no such kind
        ("organization", "b", "no such record"),  # another workspace's organization
        ("organization", "random", "no such record"),
        ("organization", "not-a-uuid", "no such record"),
    ],
)
def test_the_subject_must_be_a_record_of_this_workspace(app, world, kind, which, message):
    subject = {
        "own": org_x(world),
        "b": world.b.own[Organization],
        "random": uuid.uuid4(),
        "not-a-uuid": "42",
    }[which]
    with app.app_context(), workspace_context(world.a.id):
        errors = errors_of(lambda: make(world, chicago(2026, 3, 1, 9), kind=kind, subject=subject))
        assert message in errors["subject"]


def test_an_archived_record_takes_no_new_follow_ups(app, world):
    with app.app_context(), workspace_context(world.a.id):
        organization = db.session.execute(
            select(Organization).where(Organization.public_id == org_x(world))
        ).scalar_one()
        organization.archived_at = clock.now()
        db.session.flush()
        assert "subject" in errors_of(lambda: make(world, chicago(2026, 3, 1, 9)))


# --- the checks of every write --------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * (TITLE_MAX + 1)}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"notes": "x" * 10_001}, "notes"),
        ({"due_at": datetime(2026, 3, 1, 9, 0)}, "due_at"),  # naive: which clock?
        ({"due_at": None}, "due_at"),
        ({"due_at": chicago(1999, 12, 31, 9)}, "due_at"),
        ({"due_at": chicago(2200, 1, 2, 9)}, "due_at"),
        ({"cadence_days": 0}, "cadence_days"),
        ({"cadence_days": 3651}, "cadence_days"),
        ({"cadence_rrule": "FREQ=HOURLY"}, "cadence"),
        ({"cadence_rrule": "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30"}, "cadence"),
        ({"cadence_rrule": "FREQ=MONTHLY;INTERVAL=0"}, "cadence"),
        ({"cadence_rrule": "FREQ=YEARLY;INTERVAL=11"}, "cadence"),
        ({"cadence_rrule": "every month"}, "cadence"),
        ({"cadence_rrule": "FREQ=WEEKLY", "cadence_days": 7}, "cadence"),
    ],
)
def test_bad_input_is_a_field_error_never_a_crash(app, world, changes, field):
    with app.app_context(), workspace_context(world.a.id):
        due = changes.pop("due_at", chicago(2026, 3, 1, 9))
        errors = errors_of(lambda: make(world, due, **changes))
        assert set(errors) == {field}, errors


def test_a_due_time_in_the_past_is_allowed_to_log_what_was_due(app, world):
    with app.app_context(), workspace_context(world.a.id), clock.frozen(chicago(2026, 3, 20, 9)):
        follow_up = make(world, chicago(2026, 3, 1, 9))
        assert follow_up.due_at < clock.now()


@pytest.mark.parametrize("role", ["partner", "viewer"])
def test_only_admins_and_staff_can_be_assigned(app, world, role):
    with app.app_context(), workspace_context(world.a.id):
        someone = member(getattr(world.a, role).membership_public_id)
        errors = errors_of(lambda: make(world, chicago(2026, 3, 1, 9), assignee=someone))
        assert errors == {"assignee": "Choose a staff member or admin of this workspace."}
        follow_up = make(world, chicago(2026, 3, 1, 9))
        assert errors_of(lambda: reassign_follow_up(follow_up, someone)) == errors
        assert errors_of(lambda: reassign_follow_up(follow_up, None)) == errors


def test_a_member_of_another_workspace_cannot_be_assigned(app, world):
    with app.app_context():
        with workspace_context(world.b.id):
            stranger = member(world.b.staff.membership_public_id)
            db.session.expunge(stranger)
        with workspace_context(world.a.id):
            errors = errors_of(lambda: make(world, chicago(2026, 3, 1, 9), assignee=stranger))
            assert set(errors) == {"assignee"}


def test_reassign_and_edit(app, world):
    with app.app_context(), workspace_context(world.a.id):
        follow_up = make(world, chicago(2026, 3, 1, 9))
        admin = member(world.a.admin.membership_public_id)
        reassign_follow_up(follow_up, admin)
        assert reload(follow_up).assignee_id == admin.id
        update_follow_up(
            follow_up,
            title="  Call   the director ",
            notes="Wednesday",
            due_at=chicago(2026, 3, 4, 10),
            assignee=member(world.a.staff.membership_public_id),
        )
        stored = reload(follow_up)
        assert stored.title == "Call the director"
        assert stored.due_at == chicago(2026, 3, 4, 10)
        assert stored.assignee_id == member(world.a.staff.membership_public_id).id
        errors = errors_of(
            lambda: update_follow_up(
                stored,
                title="",
                notes="",
                due_at=None,
                assignee=member(world.a.viewer.membership_public_id),
            )
        )
        assert set(errors) == {"title", "due_at", "assignee"}


def test_clean_cadence_accepts_frequency_and_interval_only():
    assert clean_cadence("FREQ=MONTHLY") == "FREQ=MONTHLY"
    assert clean_cadence(" rrule:freq=weekly;interval=2 ") == "FREQ=WEEKLY;INTERVAL=2"
    assert clean_cadence("FREQ=MONTHLY;INTERVAL=1") == "FREQ=MONTHLY"
    assert clean_cadence("") is None
    assert clean_cadence(None) is None
    for bad in ("FREQ=SECONDLY", "FREQ=DAILY;COUNT=3", "FREQ=DAILY;FREQ=WEEKLY", "INTERVAL=2"):
        with pytest.raises(ValueError):
            clean_cadence(bad)


# --- done, and the next one of a cadence ----------------------------------------------------


def test_journey_7_monthly_check_in_done_late_counts_from_the_due_date_across_dst(app, world):
    """Due Sunday 2026-03-01 09:00 Chicago (CST, 15:00 UTC), done late on 2026-03-20 after
    the clocks moved forward on 03-08: the next is due 2026-04-01 09:00 Chicago, which is
    14:00 UTC (CDT), not 15:00."""
    with app.app_context(), workspace_context(world.a.id):
        first = make(world, chicago(2026, 3, 1, 9, 0), cadence_rrule="FREQ=MONTHLY")
        assert first.due_at == datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
        admin = member(world.a.admin.membership_public_id)
        done_at = chicago(2026, 3, 20, 16, 45)
        with clock.frozen(done_at):
            following = complete_follow_up(first, "  Talked to Ana; they want Tuesdays.  ", admin)
        first = reload(first)
        assert first.status is FollowUpStatus.DONE
        assert first.completed_at == done_at
        assert first.completion_note == "Talked to Ana; they want Tuesdays."
        assert following.due_at == datetime(2026, 4, 1, 14, 0, tzinfo=UTC)
        assert following.due_at.astimezone(CHICAGO).time() == time(9, 0)
        assert following.previous_id == first.id
        assert following.status is FollowUpStatus.OPEN
        assert following.timezone == "America/Chicago"
        assert following.cadence_rrule == "FREQ=MONTHLY"
        assert (following.subject_kind, following.subject_id) == ("organization", org_x(world))
        assert following.assignee_id == first.assignee_id
        assert following.title == first.title
        assert following.created_by_id == admin.id


def test_every_seven_days_across_the_november_change_stays_at_nine_local(app, world):
    with app.app_context(), workspace_context(world.a.id):
        follow_up = make(world, chicago(2026, 10, 29, 9, 0), cadence_days=7)
        assert follow_up.due_at == datetime(2026, 10, 29, 14, 0, tzinfo=UTC)  # CDT
        with clock.frozen(chicago(2026, 10, 29, 11)):
            following = complete_follow_up(follow_up)
        assert following.due_at == datetime(2026, 11, 5, 15, 0, tzinfo=UTC)  # CST
        assert following.cadence_days == 7
        with clock.frozen(chicago(2026, 11, 20, 8)):  # three weeks late
            third = complete_follow_up(following)
        assert third.due_at == chicago(2026, 11, 12, 9, 0)  # still from the due date


def test_weekly_across_the_march_change_in_a_facility_zone(app, world):
    with app.app_context(), workspace_context(world.a.id):
        facility = Facility(name="Mountain Annex", timezone="America/Denver")
        db.session.add(facility)
        db.session.flush()
        due = datetime(2026, 3, 5, 9, 0, tzinfo=DENVER)
        follow_up = make(
            world, due, kind="facility", subject=facility.public_id, cadence_rrule="FREQ=WEEKLY"
        )
        assert next_due(follow_up) == datetime(2026, 3, 12, 9, 0, tzinfo=DENVER)
        assert next_due(follow_up) == datetime(2026, 3, 12, 15, 0, tzinfo=UTC)  # MDT


def test_monthly_on_the_31st_skips_months_without_one_as_rfc_5545_says(app, world):
    with app.app_context(), workspace_context(world.a.id):
        follow_up = make(world, chicago(2026, 1, 31, 9), cadence_rrule="FREQ=MONTHLY")
        assert next_due(follow_up) == chicago(2026, 3, 31, 9)


def test_without_a_cadence_done_makes_nothing_more(app, world):
    with app.app_context(), workspace_context(world.a.id):
        follow_up = make(world, chicago(2026, 3, 1, 9))
        assert next_due(follow_up) is None
        assert complete_follow_up(follow_up) is None
        assert len(series_of(follow_up)) == 0


def test_done_twice_is_refused_and_changes_nothing(app, world):
    with app.app_context(), workspace_context(world.a.id):
        follow_up = make(world, chicago(2026, 3, 1, 9), cadence_rrule="FREQ=MONTHLY")
        with clock.frozen(chicago(2026, 3, 2, 9)):
            complete_follow_up(follow_up, "first")
        with clock.frozen(chicago(2026, 3, 3, 9)):
            errors = errors_of(lambda: complete_follow_up(follow_up, "second"))
        assert "done already" in errors["status"]
        stored = reload(follow_up)
        assert stored.completed_at == chicago(2026, 3, 2, 9)
        assert stored.completion_note == "first"


def test_a_too_long_completion_note_is_refused(app, world):
    with app.app_context(), workspace_context(world.a.id):
        follow_up = make(world, chicago(2026, 3, 1, 9))
        assert set(errors_of(lambda: complete_follow_up(follow_up, "x" * 10_001))) == {"note"}
        assert reload(follow_up).status is FollowUpStatus.OPEN


def test_reopen_then_done_again_makes_no_second_successor(app, world):
    with app.app_context(), workspace_context(world.a.id):
        first = make(world, chicago(2026, 3, 1, 9), cadence_rrule="FREQ=MONTHLY")
        second = complete_follow_up(first, "oops, not yet")
        reopen_follow_up(first)
        first = reload(first)
        assert first.status is FollowUpStatus.OPEN
        assert first.completed_at is None and first.completion_note == ""
        assert complete_follow_up(first, "now") is None
        assert [f.id for f in series_of(first)] == [first.id, second.id]


def test_the_series_runs_through_previous_ids(app, world):
    with app.app_context(), workspace_context(world.a.id):
        first = make(world, chicago(2026, 3, 1, 9), cadence_rrule="FREQ=MONTHLY")
        second = complete_follow_up(first, "March")
        third = complete_follow_up(second, "April")
        make(world, chicago(2026, 3, 5, 9), title="Unrelated one about the same record")
        expected = [first.id, second.id, third.id]
        for one in (first, second, third):
            assert [f.id for f in series_of(one)] == expected
        assert [f.due_at for f in series_of(third)] == [
            chicago(2026, 3, 1, 9),
            chicago(2026, 4, 1, 9),
            chicago(2026, 5, 1, 9),
        ]


def test_a_cancelled_follow_up_stops_its_cadence_and_cannot_be_done(app, world):
    with app.app_context(), workspace_context(world.a.id):
        follow_up = make(world, chicago(2026, 3, 1, 9), cadence_rrule="FREQ=MONTHLY")
        cancel_follow_up(follow_up)
        assert reload(follow_up).status is FollowUpStatus.CANCELLED
        assert "cancelled" in errors_of(lambda: complete_follow_up(follow_up))["status"]
        assert "cancelled" in errors_of(lambda: cancel_follow_up(follow_up))["status"]
        reopen_follow_up(follow_up)
        assert reload(follow_up).status is FollowUpStatus.OPEN
        assert (
            "Only a done or cancelled" in errors_of(lambda: reopen_follow_up(follow_up))["status"]
        )


def test_archiving_the_record_cancels_its_follow_ups_and_they_stay_closed(app, world):
    with app.app_context(), workspace_context(world.a.id):
        open_one = make(world, chicago(2026, 3, 1, 9), cadence_rrule="FREQ=MONTHLY")
        snoozed = make(world, chicago(2026, 3, 2, 9))
        with clock.frozen(chicago(2026, 3, 1, 8)):
            snooze_follow_up(snoozed, chicago(2026, 3, 9, 9))
        done = make(world, chicago(2026, 3, 3, 9))
        complete_follow_up(done)
        organization = db.session.execute(
            select(Organization).where(Organization.public_id == org_x(world))
        ).scalar_one()
        organization.archived_at = clock.now()
        # the world's own open follow-up about X is cancelled too
        assert cancel_for_subject("organization", org_x(world)) == 3
        for follow_up in (open_one, snoozed):
            assert reload(follow_up).status is FollowUpStatus.CANCELLED
        assert reload(done).status is FollowUpStatus.DONE
        assert "archived" in errors_of(lambda: reopen_follow_up(open_one))["status"]


# --- snoozing -------------------------------------------------------------------------------


def test_snooze_moves_the_due_time_and_marks_it_snoozed(app, world):
    with app.app_context(), workspace_context(world.a.id):
        follow_up = make(world, chicago(2026, 3, 1, 9))
        with clock.frozen(chicago(2026, 3, 3, 14)):
            errors = errors_of(lambda: snooze_follow_up(follow_up, chicago(2026, 3, 3, 13)))
            assert errors == {"until": "Choose a time in the future."}
            assert "until" in errors_of(lambda: snooze_follow_up(follow_up, datetime(2026, 4, 1)))
            snooze_follow_up(follow_up, chicago(2026, 3, 4, 9))
        stored = reload(follow_up)
        assert stored.status is FollowUpStatus.SNOOZED
        assert stored.due_at == chicago(2026, 3, 4, 9)
        # a snoozed one can be snoozed again, and done
        with clock.frozen(chicago(2026, 3, 3, 15)):
            snooze_follow_up(stored, chicago(2026, 3, 5, 9))
            complete_follow_up(stored)
            assert (
                "done"
                in errors_of(lambda: snooze_follow_up(stored, chicago(2026, 3, 6, 9)))["status"]
            )


def test_snooze_a_day_or_a_week_keeps_the_time_of_day_from_today_or_the_due_date(app, world):
    with app.app_context(), workspace_context(world.a.id):
        overdue = make(world, chicago(2026, 3, 6, 9))  # Friday before the change
        upcoming = make(world, chicago(2026, 3, 12, 16, 30))
        with clock.frozen(chicago(2026, 3, 10, 14)):  # Tuesday, after the change
            assert snooze_target(overdue, 1) == chicago(2026, 3, 11, 9)
            assert snooze_target(overdue, 7) == chicago(2026, 3, 17, 9)
            assert snooze_target(upcoming, 1) == chicago(2026, 3, 13, 16, 30)
            assert snooze_target(upcoming, 7) == chicago(2026, 3, 19, 16, 30)


# --- my follow-ups --------------------------------------------------------------------------


def test_local_moment_refuses_a_time_the_clocks_skip():
    assert local_moment(date(2026, 3, 8), time(3, 30), CHICAGO) == datetime(
        2026, 3, 8, 8, 30, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="does not exist"):
        local_moment(date(2026, 3, 8), time(2, 30), CHICAGO)


def test_today_and_this_week_follow_the_local_calendar_on_a_23_hour_day():
    now = chicago(2026, 3, 8, 0, 30)  # the night the clocks move forward
    agenda = agenda_bounds("America/Chicago", now)
    assert agenda.tomorrow == chicago(2026, 3, 9, 0, 0)
    assert agenda.tomorrow - now == timedelta(hours=22, minutes=30)  # 23-hour day
    assert agenda.week_end == chicago(2026, 3, 15, 0, 0)
    # just before midnight UTC is still the previous day in Chicago
    late = agenda_bounds("America/Chicago", datetime(2026, 3, 11, 3, 0, tzinfo=UTC))
    assert late.tomorrow == chicago(2026, 3, 11, 0, 0)


def test_sections_of_my_follow_ups(app, world):
    now = chicago(2026, 3, 10, 10, 0)
    with app.app_context(), workspace_context(world.a.id):
        staff = member(world.a.staff.membership_public_id)
        admin = member(world.a.admin.membership_public_id)
        titles = {
            "yesterday": chicago(2026, 3, 9, 9),
            "earlier today": chicago(2026, 3, 10, 8),
            "later today": chicago(2026, 3, 10, 16),
            "tomorrow": chicago(2026, 3, 11, 9),
            "last minute of the week": chicago(2026, 3, 16, 23, 59),
            "next tuesday": chicago(2026, 3, 17, 0, 0),
        }
        for title, due in titles.items():
            make(world, due, title=title)
        make(world, chicago(2026, 3, 10, 11), title="the admin's", assignee=admin)
        done = make(world, chicago(2026, 3, 9, 8), title="done")
        complete_follow_up(done)
        cancelled = make(world, chicago(2026, 3, 9, 8), title="cancelled")
        cancel_follow_up(cancelled)
        with clock.frozen(now):
            agenda = agenda_bounds("America/Chicago")

        def section(name, assignee_id=staff.id):
            page = pending_follow_ups(assignee_id=assignee_id, section=name, agenda=agenda)
            return [f.title for f in page.items]

        assert section("overdue") == ["yesterday", "earlier today"]
        assert section("today") == ["later today"]
        assert section("week") == ["tomorrow", "last minute of the week"]
        assert section("later")[0] == "next tuesday"  # then the world's own, due in months
        assert section("today", assignee_id=None) == ["the admin's", "later today"]
        assert section("today", assignee_id=admin.id) == ["the admin's"]
        assert count_overdue(staff.id, now) == 2
        with pytest.raises(ValueError):
            section("someday")


def test_sections_are_paginated(app, world):
    with app.app_context(), workspace_context(world.a.id):
        for n in range(5):
            make(world, chicago(2026, 3, 1, 9, n), title=f"overdue {n}")
        agenda = agenda_bounds("America/Chicago", chicago(2026, 3, 10, 10))
        staff_id = member(world.a.staff.membership_public_id).id
        first = pending_follow_ups(
            assignee_id=staff_id, section="overdue", agenda=agenda, per_page=3
        )
        assert [f.title for f in first.items] == ["overdue 0", "overdue 1", "overdue 2"]
        assert first.has_next
        second = pending_follow_ups(
            assignee_id=staff_id, section="overdue", agenda=agenda, page=2, per_page=3
        )
        assert [f.title for f in second.items] == ["overdue 3", "overdue 4"]
        assert not second.has_next


def test_the_overdue_count_is_capped(app, world):
    with app.app_context(), workspace_context(world.a.id):
        staff = member(world.a.staff.membership_public_id)
        for n in range(OVERDUE_BADGE_CAP + 3):
            db.session.add(
                FollowUp(
                    subject_kind="organization",
                    subject_id=org_x(world),
                    title=f"old {n}",
                    assignee_id=staff.id,
                    due_at=chicago(2026, 1, 1, 9),
                    timezone="America/Chicago",
                )
            )
        db.session.flush()
        assert count_overdue(staff.id, chicago(2026, 3, 1, 9)) == OVERDUE_BADGE_CAP + 1


def test_another_workspace_sees_none_of_them(app, world):
    with app.app_context():
        with workspace_context(world.a.id):
            make(world, chicago(2026, 3, 1, 9))
            staff_a = member(world.a.staff.membership_public_id).id
        with workspace_context(world.b.id):
            agenda = agenda_bounds("America/New_York", chicago(2026, 3, 10, 10))
            for name in ("overdue", "today", "week", "later"):
                page = pending_follow_ups(assignee_id=staff_a, section=name, agenda=agenda)
                assert page.items == []
                page = pending_follow_ups(assignee_id=None, section=name, agenda=agenda)
                assert all(f.workspace_id == world.b.id for f in page.items)
            assert count_overdue(staff_a, chicago(2026, 3, 10, 10)) == 0
