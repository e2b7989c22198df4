"""Follow-up pages as staff and admins use them: "my follow-ups" in three sections of the local
calendar, a new follow-up about a record, done with a note (and the next of a cadence), snooze,
reopen, cancel and edit; bad input answered with the form again; partners and viewers refused;
the list costing the same number of statements for 3 or 60 follow-ups."""

from __future__ import annotations

import dataclasses
import html
import re
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm import clock
from crm.extensions import db
from crm.facilities.models import Facility
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.services import create_follow_up
from crm.followups.subjects import SUBJECT_KINDS
from crm.partners.models import Organization
from crm.tenancy import workspace_context
from crm.workspaces.models import Membership
from tests.querycount import queries_of

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=CHICAGO)  # a Tuesday, after the March change
# the staff member's follow-ups of the world, due the day after the world was made
WORLDS_OWN = ["Call A Partner Org X", "Call A Other Org Y"]


def chicago(*args) -> datetime:
    return datetime(*args, tzinfo=CHICAGO).astimezone(UTC)


# --- reading pages --------------------------------------------------------------------------


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def section(response, name: str) -> list[str]:
    """Titles of the follow-ups listed in one section of the list, in order."""
    body = response.get_data(as_text=True)
    match = re.search(rf'<section aria-labelledby="section-{name}".*?</section>', body, re.S)
    assert match, f"no section {name}"
    return [
        html.unescape(t)
        for t in re.findall(
            r'<td><a href="/follow-ups/[0-9a-f-]+">([^<]*)</a></td>', match.group(0)
        )
    ]


def field_error(response, field: str) -> str | None:
    body = response.get_data(as_text=True)
    match = re.search(rf'<div id="{field}-error"[^>]*>(.*?)</div>', body, re.S)
    return html.unescape(match.group(1)).strip() if match else None


def flashes(response) -> str:
    return " ".join(
        html.unescape(m)
        for m in re.findall(r'<div class="alert[^"]*" role="[^"]+">(.*?)</div>', text_of(response))
    )


# --- the database behind the pages ----------------------------------------------------------


def membership_id(public_id: uuid.UUID) -> int:
    return db.session.execute(
        select(Membership.id).where(Membership.public_id == public_id)
    ).scalar_one()


def add(app, world, *specs, side=None) -> list[uuid.UUID]:
    """Follow-ups of workspace A (or `side`): specs are (title, due, overrides) tuples."""
    side = side or world.a
    made = []
    with app.app_context(), workspace_context(side.id):
        for title, due, *rest in specs:
            extra = dict(rest[0]) if rest else {}
            assignee = extra.pop("assignee", side.staff)
            membership = db.session.execute(
                select(Membership).where(Membership.public_id == assignee.membership_public_id)
            ).scalar_one()
            made.append(
                create_follow_up(
                    subject_kind=extra.pop("kind", "organization"),
                    subject_id=extra.pop("subject", side.own[Organization]),
                    title=title,
                    assignee=membership,
                    due_at=due,
                    **extra,
                ).public_id
            )
        db.session.commit()
    return made


def stored(app, world, public_id, side=None) -> FollowUp:
    with app.app_context(), workspace_context((side or world.a).id):
        follow_up = db.session.execute(
            select(FollowUp).where(FollowUp.public_id == public_id)
        ).scalar_one()
        db.session.expunge(follow_up)
        return follow_up


def add_facility(app, world, timezone="America/Denver") -> uuid.UUID:
    with app.app_context(), workspace_context(world.a.id):
        facility = Facility(name="Mountain Annex", timezone=timezone)
        db.session.add(facility)
        db.session.commit()
        return facility.public_id


def new_url(world, kind="organization", subject=None) -> str:
    return f"/follow-ups/new?subject_kind={kind}&subject_id={subject or world.a.own[Organization]}"


def form_data(world, **changes) -> dict:
    data = {
        "title": "Call the director",
        "assignee": str(world.a.staff.membership_public_id),
        "due_date": "2026-03-11",
        "due_time": "09:00",
        "notes": "Ask about a Tuesday slot.",
        "cadence": "",
        "cadence_days": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def frozen():
    with clock.frozen(NOW) as travel:
        yield travel


# --- my follow-ups --------------------------------------------------------------------------


def test_my_follow_ups_in_three_sections_of_the_local_day(app, world, login, frozen):
    add(
        app,
        world,
        ("Call about the tour", chicago(2026, 3, 6, 9)),
        ("Send the MOU draft", chicago(2026, 3, 10, 8)),
        ("Check-in with NAMI", chicago(2026, 3, 10, 15)),
        ("Ask chaplaincy for Tuesday", chicago(2026, 3, 11, 9)),
        ("Cross-training proposal", chicago(2026, 3, 16, 23, 30)),
        ("Next month's review", chicago(2026, 3, 17, 9)),
        ("The admin's own", chicago(2026, 3, 10, 11), {"assignee": world.a.admin}),
    )
    client = login(world.a.staff)
    response = client.get("/follow-ups/")
    assert response.status_code == 200
    assert section(response, "overdue") == ["Call about the tour", "Send the MOU draft"]
    assert section(response, "today") == ["Check-in with NAMI"]
    assert section(response, "week") == ["Ask chaplaincy for Tuesday", "Cross-training proposal"]
    page = text_of(response)
    assert "Next month's review" not in page and "The admin's own" not in page
    assert "Tue Mar 10, 2026 15:00" in page  # Chicago wall clock, no zone mark needed
    assert "this week runs through Monday, Mar 16" in page
    assert "A Partner Org X" in page  # the subject, linked to its page
    assert f'href="/partners/{world.a.own[Organization]}"' in page
    later = client.get("/follow-ups/?section=later")
    assert section(later, "later")[0] == "Next month's review"


@pytest.mark.parametrize("role", ["partner", "viewer"])
def test_partners_and_viewers_are_refused_every_follow_up_page(world, login, role):
    client = login(getattr(world.a, role))
    follow_up = world.a.own[FollowUp]
    for url in ("/follow-ups/", new_url(world), f"/follow-ups/{follow_up}"):
        assert client.get(url).status_code == 403
    assert client.post(f"/follow-ups/{follow_up}/done").status_code == 403
    assert "My follow-ups" not in text_of(client.get("/partners/"))


def test_admins_see_another_members_follow_ups_and_everyones(app, world, login, frozen):
    add(app, world, ("The admin's own", chicago(2026, 3, 10, 11), {"assignee": world.a.admin}))
    admin = login(world.a.admin)
    mine = admin.get("/follow-ups/")
    assert section(mine, "today") == ["The admin's own"]
    assert section(mine, "week") == []
    staff_id = world.a.staff.membership_public_id
    theirs = admin.get(f"/follow-ups/?who={staff_id}")
    assert "Follow-ups of Staff a" in text_of(theirs)
    assert section(theirs, "today") == []
    assert "Call A Partner Org X" not in text_of(theirs)  # the world's are months away
    everyone = admin.get("/follow-ups/?who=all&section=later")
    assert {"Call A Partner Org X", "Call A Other Org Y"} <= set(section(everyone, "later"))
    assert "Staff a" in text_of(everyone)  # the assignee column
    assert section(admin.get("/follow-ups/?who=all"), "today") == ["The admin's own"]
    # a made-up, partner's or other workspace's member is an old link: the admin's own list
    for who in (
        uuid.uuid4(),
        world.a.partner.membership_public_id,
        world.b.staff.membership_public_id,
    ):
        response = admin.get(f"/follow-ups/?who={who}")
        assert response.status_code == 200
        assert section(response, "today") == ["The admin's own"]


def test_staff_cannot_look_at_others_follow_ups(app, world, login, frozen):
    add(app, world, ("The admin's own", chicago(2026, 3, 10, 11), {"assignee": world.a.admin}))
    staff = login(world.a.staff)
    for who in ("all", str(world.a.admin.membership_public_id)):
        response = staff.get(f"/follow-ups/?who={who}")
        assert "The admin's own" not in text_of(response)
        assert 'name="who"' not in response.get_data(as_text=True)


def test_the_list_costs_the_same_statements_for_3_and_60_follow_ups(app, world, login, frozen):
    facility = add_facility(app, world)

    def spread(count: int, offset: int):
        specs = []
        for n in range(count):
            due = [chicago(2026, 3, 9, 9), chicago(2026, 3, 10, 12), chicago(2026, 3, 12, 9)][n % 3]
            extra = {"kind": "facility", "subject": facility} if n % 2 else {}
            specs.append((f"Follow-up {offset + n}", due, extra))
        return specs

    add(app, world, *spread(3, 0))
    staff = login(world.a.staff)
    admin = login(world.a.admin)
    urls = [(staff, "/follow-ups/"), (admin, "/follow-ups/?who=all")]
    few = [queries_of(app, client, url) for client, url in urls]
    add(app, world, *spread(57, 3))
    assert len(section(staff.get("/follow-ups/"), "overdue")) == 20
    many = [queries_of(app, client, url) for client, url in urls]
    assert many == few


def test_a_section_pages_through_its_follow_ups(app, world, login, frozen, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    add(app, world, *[(f"Old {n}", chicago(2026, 3, 1, 9, n)) for n in range(3)])
    client = login(world.a.staff)
    first = client.get("/follow-ups/")
    assert section(first, "overdue") == ["Old 0", "Old 1"]
    assert "See all overdue" in text_of(first)
    second = client.get("/follow-ups/?section=overdue&page=2")
    assert section(second, "overdue") == ["Old 2"]
    assert client.get("/follow-ups/?section=nonsense&page=x").status_code == 200


def test_the_menu_counts_overdue_follow_ups(app, world, login, frozen):
    client = login(world.a.staff)
    assert "overdue</span></span>" not in client.get("/partners/").get_data(as_text=True)
    add(app, world, ("One", chicago(2026, 3, 1, 9)), ("Two", chicago(2026, 3, 9, 9)))
    body = client.get("/partners/").get_data(as_text=True)
    assert re.search(r'My follow-ups\s*<span class="badge text-bg-danger">2<span', body)


# --- a new follow-up ------------------------------------------------------------------------


def test_journey_1_a_follow_up_lands_on_her_list_for_wednesday(app, world, login, frozen):
    client = login(world.a.staff)
    form = client.get(new_url(world))
    assert form.status_code == 200
    page = text_of(form)
    assert "A Partner Org X" in page and "America/Chicago time" in page
    assert re.search(
        rf'<option selected value="{world.a.staff.membership_public_id}"', page
    )  # assigned to herself unless she chooses
    assert 'value="2026-03-11"' in page  # tomorrow, local
    response = client.post(new_url(world), form_data(world))
    assert response.status_code == 302
    shown = client.get(response.location)
    assert "Follow-up “Call the director” added." in text_of(shown)
    assert "Wed Mar 11, 2026 09:00" in text_of(shown)
    assert "Ask about a Tuesday slot." in text_of(shown)
    public_id = uuid.UUID(response.location.rsplit("/", 1)[1])
    follow_up = stored(app, world, public_id)
    assert follow_up.due_at == chicago(2026, 3, 11, 9)
    assert follow_up.timezone == "America/Chicago"
    assert section(client.get("/follow-ups/"), "week") == ["Call the director"]


def test_a_due_time_in_the_past_is_saved_and_said(app, world, login, frozen):
    client = login(world.a.staff)
    response = client.post(new_url(world), form_data(world, due_date="2026-03-02"))
    assert response.status_code == 302
    assert "passed already: it is listed as overdue" in flashes(client.get(response.location))
    assert section(client.get("/follow-ups/"), "overdue") == ["Call the director"]


def test_a_facility_follow_up_is_entered_and_shown_on_the_facility_clock(app, world, login, frozen):
    facility = add_facility(app, world, "America/Denver")
    client = login(world.a.staff)
    url = new_url(world, "facility", facility)
    assert "America/Denver time" in text_of(client.get(url))
    response = client.post(url, form_data(world, due_date="2026-03-10", due_time="13:00"))
    assert response.status_code == 302
    follow_up = stored(app, world, uuid.UUID(response.location.rsplit("/", 1)[1]))
    assert follow_up.due_at == datetime(2026, 3, 10, 19, 0, tzinfo=UTC)  # 13:00 MDT
    listed = client.get("/follow-ups/")
    assert section(listed, "today") == ["Call the director"]
    assert "Tue Mar 10, 2026 13:00 MDT" in text_of(listed)  # its own zone, marked


def test_a_kind_without_a_page_yet_is_named_without_a_link(app, world, login, monkeypatch):
    facility = add_facility(app, world)
    add(
        app,
        world,
        ("About the annex", chicago(2026, 3, 1, 9), {"kind": "facility", "subject": facility}),
    )
    kind = SUBJECT_KINDS["facility"]
    monkeypatch.setitem(SUBJECT_KINDS, "facility", dataclasses.replace(kind, endpoint="x.nowhere"))
    with clock.frozen(NOW):
        client = login(world.a.staff)
        body = client.get("/follow-ups/").get_data(as_text=True)
    assert "Mountain Annex" in body
    assert "Mountain Annex</a>" not in body


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("subject_kind=booking&subject_id={own}", "cannot be about"),
        ("subject_kind=organization&subject_id={b}", "no such record"),
        ("subject_kind=organization&subject_id=not-an-id", "no such record"),
        ("subject_kind=organization&subject_id={random}", "no such record"),
        ("subject_kind=&subject_id={own}", "cannot be about"),
    ],
)
def test_a_subject_that_is_not_a_record_here_is_a_clear_404(world, login, query, message):
    client = login(world.a.admin)
    url = "/follow-ups/new?" + query.format(
        own=world.a.own[Organization], b=world.b.own[Organization], random=uuid.uuid4()
    )
    for response in (client.get(url), client.post(url, form_data(world))):
        assert response.status_code == 404
        assert message in text_of(response)


def test_new_without_a_subject_sends_her_to_a_record(world, login):
    client = login(world.a.staff)
    response = client.get("/follow-ups/new")
    assert response.status_code == 302
    assert "Open the record" in flashes(client.get(response.location))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "Say what is to be done."),
        ({"title": "x" * 201}, "title", "200"),
        ({"assignee": "{partner}"}, "assignee", "Choose a staff member or admin"),
        ({"assignee": "{b_staff}"}, "assignee", "Choose a staff member or admin"),
        ({"assignee": "nobody"}, "assignee", "Choose a staff member or admin"),
        ({"due_date": "2026-02-30"}, "due_date", "date"),
        ({"due_date": ""}, "due_date", "date"),
        ({"due_time": "25:00"}, "due_time", "time"),
        ({"due_date": "2026-03-08", "due_time": "02:30"}, "due_time", "does not exist"),
        ({"due_date": "9999-12-31", "due_time": "23:30"}, "due_time", "between 2000"),
        ({"due_date": "1999-12-31"}, "due_date", "between 2000"),
        ({"cadence": "days"}, "cadence_days", "every how many days"),
        ({"cadence": "days", "cadence_days": "0"}, "cadence_days", "1 to 3650"),
        ({"cadence": "days", "cadence_days": "ten"}, "cadence_days", "integer"),
        ({"cadence": "FREQ=SECONDLY"}, "cadence", "from the list"),
        ({"notes": "x" * 10_001}, "notes", "10000"),
    ],
)
def test_bad_input_comes_back_with_the_form_and_saves_nothing(
    app, world, login, frozen, changes, field, message
):
    client = login(world.a.staff)
    changes = {
        k: v.format(
            partner=world.a.partner.membership_public_id,
            b_staff=world.b.staff.membership_public_id,
        )
        for k, v in changes.items()
    }
    response = client.post(new_url(world), form_data(world, **changes))
    assert response.status_code == 422
    assert message in (field_error(response, field) or ""), text_of(response)[-3000:]
    assert "Nothing was saved yet" in text_of(response)
    assert section(client.get("/follow-ups/?section=later"), "later") == WORLDS_OWN


def test_a_monthly_cadence_from_the_form(app, world, login, frozen):
    client = login(world.a.staff)
    response = client.post(new_url(world), form_data(world, cadence="FREQ=MONTHLY"))
    follow_up = stored(app, world, uuid.UUID(response.location.rsplit("/", 1)[1]))
    assert follow_up.cadence_rrule == "FREQ=MONTHLY" and follow_up.cadence_days is None
    assert "Every month, counted from each due date" in text_of(client.get(response.location))
    response = client.post(new_url(world), form_data(world, cadence="days", cadence_days="10"))
    follow_up = stored(app, world, uuid.UUID(response.location.rsplit("/", 1)[1]))
    assert follow_up.cadence_days == 10 and follow_up.cadence_rrule is None


# --- done, snooze, reopen, cancel -----------------------------------------------------------


def test_journey_7_done_late_with_a_note_and_the_next_a_month_after_the_due(app, world, login):
    (first,) = add(
        app,
        world,
        (
            "Monthly check-in with the parenting program",
            chicago(2026, 3, 1, 9),
            {"cadence_rrule": "FREQ=MONTHLY"},
        ),
    )
    with clock.frozen(chicago(2026, 3, 20, 16)):
        client = login(world.a.staff)
        assert section(client.get("/follow-ups/"), "overdue") == [
            "Monthly check-in with the parenting program"
        ]
        response = client.post(
            f"/follow-ups/{first}/done", {"note": "Talked to Ana: they want Tuesdays."}
        )
        assert response.status_code == 302
        assert response.location == f"/follow-ups/{first}"
        page = client.get(response.location)
        assert "The next one is due Wed Apr 1, 2026 09:00." in flashes(page)
        assert "Talked to Ana: they want Tuesdays." in text_of(page)
        assert section(client.get("/follow-ups/"), "overdue") == []
    done = stored(app, world, first)
    assert done.status is FollowUpStatus.DONE
    assert done.completed_at == chicago(2026, 3, 20, 16)
    with app.app_context(), workspace_context(world.a.id):
        following = db.session.execute(
            select(FollowUp).where(FollowUp.previous_id == done.id)
        ).scalar_one()
        assert following.due_at == datetime(2026, 4, 1, 14, 0, tzinfo=UTC)
        next_id = following.public_id
    with clock.frozen(chicago(2026, 3, 20, 16)):
        page = text_of(client.get(f"/follow-ups/{next_id}"))
    assert "The series" in page
    assert "Sun Mar 1, 2026 09:00" in page and "Wed Apr 1, 2026 09:00" in page


def test_quick_actions_return_to_the_list_never_elsewhere(app, world, login, frozen):
    one, two, three = add(
        app,
        world,
        ("One", chicago(2026, 3, 9, 9)),
        ("Two", chicago(2026, 3, 9, 10)),
        ("Three", chicago(2026, 3, 9, 11)),
    )
    client = login(world.a.admin)
    back = f"/follow-ups/?who={world.a.staff.membership_public_id}"
    response = client.post(f"/follow-ups/{one}/done", {"back": back})
    assert response.location == back
    for evil in ("https://evil.example/follow-ups/", "//evil.example/follow-ups/", "/partners/"):
        response = client.post(f"/follow-ups/{two}/snooze", {"until": "day", "back": evil})
        assert response.location == f"/follow-ups/{two}"
    response = client.post(f"/follow-ups/{three}/snooze", {"until": "week", "back": back})
    assert response.location == back
    assert stored(app, world, one).status is FollowUpStatus.DONE
    assert stored(app, world, three).due_at == chicago(2026, 3, 17, 11)
    assert stored(app, world, three).status is FollowUpStatus.SNOOZED
    assert section(client.get(back), "overdue") == []


def test_snooze_until_a_chosen_time(app, world, login, frozen):
    (one,) = add(app, world, ("One", chicago(2026, 3, 9, 9)))
    client = login(world.a.staff)
    response = client.post(
        f"/follow-ups/{one}/snooze",
        {"until": "until", "until_date": "2026-03-12", "until_time": "14:15"},
    )
    assert response.status_code == 302
    assert "snoozed until Thu Mar 12, 2026 14:15" in flashes(client.get(response.location))
    assert stored(app, world, one).due_at == chicago(2026, 3, 12, 14, 15)
    for data, field, message in (
        ({"until_date": "2026-03-01", "until_time": "09:00"}, "until_date", "future"),
        ({"until_date": "", "until_time": "09:00"}, "until_date", "Choose the date"),
        ({"until_date": "2026-03-12", "until_time": ""}, "until_time", "Choose the time"),
        ({"until_date": "9999-12-31", "until_time": "23:59"}, "until_time", "between 2000"),
    ):
        response = client.post(f"/follow-ups/{one}/snooze", {"until": "until", **data})
        assert response.status_code == 422
        assert message in (field_error(response, field) or ""), text_of(response)[-2000:]
    response = client.post(f"/follow-ups/{one}/snooze", {"until": "forever"})
    assert response.status_code == 422
    assert stored(app, world, one).due_at == chicago(2026, 3, 12, 14, 15)


def test_cancel_reopen_and_a_stale_button(app, world, login, frozen):
    (one,) = add(app, world, ("One", chicago(2026, 3, 9, 9)))
    client = login(world.a.staff)
    assert client.post(f"/follow-ups/{one}/cancel").status_code == 302
    assert stored(app, world, one).status is FollowUpStatus.CANCELLED
    # the same button again, from a tab left open: said, not a crash
    response = client.post(f"/follow-ups/{one}/cancel")
    assert response.status_code == 302
    assert "cannot be cancelled" in flashes(client.get(response.location))
    response = client.post(f"/follow-ups/{one}/done")
    assert "is cancelled already" in flashes(client.get(response.location))
    page = text_of(client.get(f"/follow-ups/{one}"))
    assert "Reopen" in page and "Mark it done" not in page
    assert client.post(f"/follow-ups/{one}/reopen").status_code == 302
    assert stored(app, world, one).status is FollowUpStatus.OPEN
    response = client.post(f"/follow-ups/{one}/reopen")
    assert "Only a done or cancelled" in flashes(client.get(response.location))


def test_a_too_long_completion_note_comes_back(app, world, login, frozen):
    (one,) = add(app, world, ("One", chicago(2026, 3, 9, 9)))
    client = login(world.a.staff)
    response = client.post(f"/follow-ups/{one}/done", {"note": "x" * 10_001})
    assert response.status_code == 422
    assert field_error(response, "note")
    assert stored(app, world, one).status is FollowUpStatus.OPEN


def test_edit_and_reassign(app, world, login, frozen):
    (one,) = add(app, world, ("One", chicago(2026, 3, 9, 9), {"notes": "first notes"}))
    client = login(world.a.staff)
    form = client.get(f"/follow-ups/{one}/edit")
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert 'value="One"' in body and 'value="2026-03-09"' in body and 'value="09:00"' in body
    response = client.post(
        f"/follow-ups/{one}/edit",
        form_data(world, title="One, renamed", assignee=str(world.a.admin.membership_public_id)),
    )
    assert response.status_code == 302
    follow_up = stored(app, world, one)
    assert follow_up.title == "One, renamed"
    assert follow_up.due_at == chicago(2026, 3, 11, 9)
    with app.app_context(), workspace_context(world.a.id):
        assert follow_up.assignee_id == membership_id(world.a.admin.membership_public_id)
    response = client.post(
        f"/follow-ups/{one}/edit",
        form_data(world, assignee=str(world.a.viewer.membership_public_id)),
    )
    assert response.status_code == 422
    assert "Choose a staff member or admin" in field_error(response, "assignee")


def test_another_workspaces_follow_up_is_not_found_and_not_touched(app, world, login, frozen):
    theirs = world.b.own[FollowUp]
    client = login(world.a.admin)
    for url in (f"/follow-ups/{theirs}", f"/follow-ups/{theirs}/edit"):
        assert client.get(url).status_code == 404
    for action in ("done", "snooze", "cancel", "reopen", "edit"):
        assert client.post(f"/follow-ups/{theirs}/{action}", {"until": "day"}).status_code == 404
    assert stored(app, world, theirs, side=world.b).status is FollowUpStatus.OPEN


def test_the_jails_people_start_on_their_follow_ups_partners_and_viewers_on_partners(
    app, world, login
):
    for member, start in (
        (world.a.admin, "/follow-ups/"),
        (world.a.staff, "/follow-ups/"),
        (world.a.partner, "/partners/"),
        (world.a.viewer, "/partners/"),
    ):
        response = login(member).get("/")
        assert (response.status_code, response.location) == (302, start), member


def test_each_rows_links_and_buttons_act_on_that_row_as_the_page_sends_them(
    app, world, login, frozen
):
    one, two = add(app, world, ("One", chicago(2026, 3, 9, 9)), ("Two", chicago(2026, 3, 10, 15)))
    client = login(world.a.staff)
    body = client.get("/follow-ups/").get_data(as_text=True)
    rows = {
        title: row
        for row in re.findall(r"<tr>.*?</tr>", body, re.S)
        for title in re.findall(r'<td><a href="/follow-ups/[0-9a-f-]+">([^<]*)</a>', row)
    }
    assert f'<a href="/follow-ups/{one}">One</a>' in rows["One"]
    assert f'<a href="/follow-ups/{two}">Two</a>' in rows["Two"]
    # the Done form of row "Two", posted with exactly the fields the page holds
    form = re.search(r'<form method="post" action="([^"]+/done)">(.*?)</form>', rows["Two"], re.S)
    assert form.group(1) == f"/follow-ups/{two}/done"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[2]))
    response = client.post(
        form.group(1), {k: html.unescape(v) for k, v in fields.items()}, csrf=False
    )
    assert response.status_code == 302
    assert stored(app, world, two).status is FollowUpStatus.DONE
    assert stored(app, world, one).status is FollowUpStatus.OPEN
    snooze = re.search(r'<form method="post" action="([^"]+/snooze)"', rows["One"])
    assert snooze.group(1) == f"/follow-ups/{one}/snooze"
