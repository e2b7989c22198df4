"""Organization pages as each role uses them: find, add, edit and delete partners; bad input
answered with the form again, the user's typing kept; partners and viewers limited."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.partners.models import Organization, OrganizationKind, Stage, StageChange
from crm.partners.services import OrganizationInput, create_organization, update_organization
from crm.tenancy import workspace_context

A_NAMES = ("A Partner Org X", "A Other Org Y")
B_NAMES = ("B Partner Org X", "B Other Org Y")


# --- reading pages as a person would ---------------------------------------------------------


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def field_error(response, field: str) -> str | None:
    """The message shown under a field (tied to it by aria-describedby), if any."""
    body = response.get_data(as_text=True)
    match = re.search(rf'<div id="{field}-error"[^>]*>(.*?)</div>', body, re.S)
    if match is None:
        return None
    assert re.search(
        rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"', body
    ), f"{field} is not marked invalid"
    return html.unescape(match.group(1)).strip()


def input_value(response, field: str) -> str:
    tag = re.search(rf'<input[^>]*\bname="{field}"[^>]*>', response.get_data(as_text=True)).group(0)
    return html.unescape(re.search(r'value="([^"]*)"', tag).group(1))


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


def listed(response) -> list[str]:
    """Organization names in the list's table, in order."""
    body = response.get_data(as_text=True)
    return [
        html.unescape(n) for n in re.findall(r'<td><a href="/partners/[^"]+">([^<]*)</a>', body)
    ]


def link(response, label: str) -> str:
    match = re.search(
        rf'<a class="page-link" href="([^"#]+)"[^>]*>{label}</a>', response.get_data(as_text=True)
    )
    assert match, f"no {label} link"
    return html.unescape(match.group(1))


# --- the database behind the pages ------------------------------------------------------------


def count(app, world) -> int:
    with app.app_context(), workspace_context(world.a.id):
        return db.session.execute(select(func.count(Organization.id))).scalar_one()


def stored(app, world, public_id) -> Organization | None:
    with app.app_context(), workspace_context(world.a.id):
        organization = db.session.execute(
            select(Organization).where(Organization.public_id == public_id)
        ).scalar_one_or_none()
        if organization is not None:
            db.session.expunge(organization)
        return organization


def add(app, world, *names: str, kind=OrganizationKind.CIVIC, **extra) -> list[uuid.UUID]:
    with app.app_context(), workspace_context(world.a.id):
        made = [
            create_organization(OrganizationInput(name=name, kind=kind, **extra)) for name in names
        ]
        db.session.commit()
        return [organization.public_id for organization in made]


def form_data(**changes) -> dict:
    """What the browser sends for a complete, valid form."""
    data = {
        "name": "Harbor Reentry Coalition",
        "kind": "peer_support",
        "stage": "contacted",
        "mission": "Mentors who meet women before release.",
        "interests": "They asked about a tour in spring.",
        "owner": "",
    }
    data.update(changes)
    return data


JAIL_ROLES = ["admin", "staff"]


# --- staff and admins -------------------------------------------------------------------------


@pytest.mark.parametrize("role", JAIL_ROLES)
def test_the_list_shows_this_workspace_and_never_another(world, login, role):
    client = login(getattr(world.a, role))
    response = client.get("/partners/")
    assert response.status_code == 200
    assert listed(response) == sorted(A_NAMES)
    page = text_of(response)
    assert not any(name in page for name in B_NAMES)
    assert "Add an organization" in page


@pytest.mark.parametrize("role", JAIL_ROLES)
def test_search_by_a_prefix_in_any_case(app, world, login, role):
    add(app, world, "NAMI Harbor County", kind=OrganizationKind.MENTAL_HEALTH)
    client = login(getattr(world.a, role))
    assert listed(client.get("/partners/?q=nami")) == ["NAMI Harbor County"]
    assert listed(client.get("/partners/?q=A+PARTNER")) == ["A Partner Org X"]
    # B's organization starts with "B Partner" too: never found from A
    response = client.get("/partners/?q=b+partner")
    assert listed(response) == []
    assert "No organization matches" in text_of(response)


def test_filters_by_kind_and_stage(app, world, login):
    add(app, world, "Faith Toured", kind=OrganizationKind.FAITH_BASED, stage=Stage.TOURED)
    client = login(world.a.staff)
    assert listed(client.get("/partners/?kind=faith_based")) == ["A Other Org Y", "Faith Toured"]
    assert listed(client.get("/partners/?kind=faith_based&stage=toured")) == ["Faith Toured"]
    assert listed(client.get("/partners/?stage=active")) == ["A Partner Org X"]


def test_a_bad_filter_in_an_old_link_leaves_the_other_filters_working(world, login):
    client = login(world.a.staff)
    response = client.get("/partners/?q=a+other&kind=retired_kind")
    assert response.status_code == 200
    assert listed(response) == ["A Other Org Y"]
    assert listed(client.get("/partners/?q=a&stage=won&kind=civic")) == ["A Partner Org X"]


@pytest.mark.parametrize("role", JAIL_ROLES)
def test_add_an_organization_then_its_page_shows_it(app, world, login, role):
    client = login(getattr(world.a, role))
    before = count(app, world)
    response = client.post(
        "/partners/new", form_data(owner=str(world.a.staff.membership_public_id))
    )
    assert response.status_code == 302
    assert count(app, world) == before + 1
    page = client.get(response.location)
    assert page.status_code == 200
    body = text_of(page)
    assert "Harbor Reentry Coalition was added." in body
    for shown in (
        "Harbor Reentry Coalition",
        "Peer support",
        "Contacted",
        "Mentors who meet women before release.",
        "They asked about a tour in spring.",
        "Staff a",  # the owner's name
    ):
        assert shown in body
    assert "Harbor Reentry Coalition" in listed(client.get("/partners/?q=harbor"))


@pytest.mark.parametrize("role", JAIL_ROLES)
def test_edit_an_organization(app, world, login, role):
    client = login(getattr(world.a, role))
    org_y = world.a.other_org[Organization]
    form = client.get(f"/partners/{org_y}/edit")
    assert form.status_code == 200
    assert input_value(form, "name") == "A Other Org Y"
    assert selected(form, "kind") == "faith_based"
    assert textarea(form, "interests") == "Secret notes Y"
    response = client.post(
        f"/partners/{org_y}/edit",
        form_data(name="A Renamed Org", kind="other", stage="toured", mission="New mission"),
    )
    assert response.status_code == 302
    body = text_of(client.get(response.location))
    assert "Changes saved." in body
    assert "A Renamed Org" in body and "New mission" in body and "Toured" in body
    assert listed(client.get("/partners/?q=a+other")) == []
    assert listed(client.get("/partners/?q=a+renamed")) == ["A Renamed Org"]


@pytest.mark.parametrize("role", JAIL_ROLES)
def test_delete_asks_first_then_deletes(app, world, login, role):
    (public_id,) = add(app, world, "Short Lived Partner")
    client = login(getattr(world.a, role))
    before = count(app, world)
    confirm = client.get(f"/partners/{public_id}/delete")
    assert confirm.status_code == 200
    assert "Delete Short Lived Partner?" in text_of(confirm)
    assert count(app, world) == before  # asking deletes nothing
    response = client.post(f"/partners/{public_id}/delete")
    assert response.status_code == 302
    assert "Short Lived Partner was deleted." in text_of(client.get(response.location))
    assert count(app, world) == before - 1
    assert "Short Lived Partner" not in listed(client.get("/partners/"))
    assert client.get(f"/partners/{public_id}").status_code == 404


def test_delete_of_an_organization_with_partner_users_is_refused_with_the_reason(app, world, login):
    client = login(world.a.admin)
    org_x = world.a.own[Organization]
    before = count(app, world)
    response = client.post(f"/partners/{org_x}/delete")
    assert response.status_code == 302
    page = text_of(client.get(response.location))
    assert (
        "A Partner Org X cannot be deleted: it has 1 contact, 1 activity and 1 partner user" in page
    )
    assert "Archive it instead" in page
    assert count(app, world) == before
    assert stored(app, world, org_x).name == "A Partner Org X"


# --- bad input --------------------------------------------------------------------------------

BAD_INPUT = [
    pytest.param("name", "", "Enter the organization's name.", id="empty name"),
    pytest.param("name", "   ", "Enter the organization's name.", id="blank name"),
    pytest.param("name", "N" * 10_000, "200 characters", id="10000 character name"),
    pytest.param("kind", "spaceship", "Choose a kind from the list.", id="unknown kind"),
    pytest.param("kind", "", "Choose a kind from the list.", id="no kind"),
    pytest.param("stage", "won", "Choose a stage from the list.", id="unknown stage"),
    pytest.param("owner", "b-staff", "Choose an owner from the list.", id="owner of B"),
    pytest.param("owner", "a-partner", "Choose an owner from the list.", id="partner owner"),
    pytest.param("owner", "random", "Choose an owner from the list.", id="random uuid"),
    pytest.param("owner", "not-a-uuid", "Choose an owner from the list.", id="not an id"),
]


def bad_value(world, value: str) -> str:
    return {
        "b-staff": str(world.b.staff.membership_public_id),
        "a-partner": str(world.a.partner.membership_public_id),
        "random": str(uuid.uuid4()),
    }.get(value, value)


def assert_form_again_with_the_typing_kept(response, field, message, sent):
    assert response.status_code == 422
    error = field_error(response, field)
    assert error is not None and message in error, error
    assert "Nothing was saved yet." in text_of(response)
    # what the user typed in the other fields is still there to correct and send again
    assert textarea(response, "mission") == sent["mission"]
    assert textarea(response, "interests") == sent["interests"]
    if field != "name":
        assert input_value(response, "name") == sent["name"]
    if field not in ("kind", "name"):
        assert selected(response, "kind") == sent["kind"]
    if field != "stage":
        assert selected(response, "stage") == sent["stage"]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_bad_input_on_the_add_form(app, world, login, field, value, message):
    client = login(world.a.staff)
    before = count(app, world)
    sent = form_data(**{field: bad_value(world, value)})
    response = client.post("/partners/new", sent)
    assert_form_again_with_the_typing_kept(response, field, message, sent)
    assert count(app, world) == before


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_bad_input_on_the_edit_form(app, world, login, field, value, message):
    client = login(world.a.admin)
    org_y = world.a.other_org[Organization]
    sent = form_data(**{field: bad_value(world, value)})
    response = client.post(f"/partners/{org_y}/edit", sent)
    assert_form_again_with_the_typing_kept(response, field, message, sent)
    unchanged = stored(app, world, org_y)
    assert (unchanged.name, unchanged.kind, unchanged.stage, unchanged.mission) == (
        "A Other Org Y",
        OrganizationKind.FAITH_BASED,
        Stage.IDENTIFIED,
        "Mission Y",
    )
    assert unchanged.owner_id is None


def test_a_form_with_several_mistakes_marks_each_field(app, world, login):
    client = login(world.a.staff)
    response = client.post(
        "/partners/new", form_data(name="", kind="spaceship", owner=str(uuid.uuid4()))
    )
    assert response.status_code == 422
    assert field_error(response, "name") == "Enter the organization's name."
    assert field_error(response, "kind") == "Choose a kind from the list."
    assert field_error(response, "owner") == "Choose an owner from the list."


def test_an_overlong_search_is_refused_with_a_message_not_a_failure(world, login):
    client = login(world.a.staff)
    response = client.get("/partners/?q=" + "n" * 10_000)
    assert response.status_code == 200
    assert "200 characters" in text_of(response)


@pytest.mark.parametrize(
    "query",
    ["%F4%8F%BF%BF", "A%F4%8F%BF%BF", "%ED%9F%BF", "%FF%FE", "%25_*"],
)
def test_unusual_characters_in_a_search_find_nothing_instead_of_failing(world, login, query):
    client = login(world.a.staff)
    response = client.get(f"/partners/?q={query}")
    assert response.status_code == 200
    assert "B Partner Org X" not in text_of(response)


# --- partners and viewers ---------------------------------------------------------------------


def give_org_x_an_owner(app, world) -> None:
    with app.app_context(), workspace_context(world.a.id):
        organization = db.session.execute(
            select(Organization).where(Organization.id == world.a.org_x_id)
        ).scalar_one()
        update_organization(
            organization,
            OrganizationInput(
                name=organization.name,
                kind=organization.kind,
                stage=organization.stage,
                mission=organization.mission,
                interests=organization.interests,
                owner=world.a.staff.membership_public_id,
            ),
        )
        db.session.commit()


def test_a_partner_sees_only_their_own_organization(world, login):
    client = login(world.a.partner)
    response = client.get("/partners/")
    assert response.status_code == 200
    assert listed(response) == ["A Partner Org X"]
    assert "Add an organization" not in text_of(response)
    assert listed(client.get("/partners/?q=a+other")) == []
    assert client.get(f"/partners/{world.a.other_org[Organization]}").status_code == 404


def test_a_partner_sees_their_page_without_staff_notes_or_owner(app, world, login):
    give_org_x_an_owner(app, world)
    org_x = world.a.own[Organization]
    staff_page = text_of(login(world.a.staff).get(f"/partners/{org_x}"))
    assert "Secret notes X" in staff_page and "Staff a" in staff_page  # the control
    response = login(world.a.partner).get(f"/partners/{org_x}")
    assert response.status_code == 200
    page = text_of(response)
    assert "A Partner Org X" in page and "Mission X" in page
    assert "Secret notes X" not in page
    assert "Staff a" not in page and "Owner" not in page
    # their own profile they may edit; nothing of the jail's pipeline or housekeeping
    assert f'href="/partners/{org_x}/edit">Edit profile</a>' in page
    for staff_route in ("/stage", "/archive", "/delete", "/restore"):
        assert f"/partners/{org_x}{staff_route}" not in page
    for staff_section in ("Stage history", "Follow-ups", "Outreach log", "Research notes"):
        assert staff_section not in page


def test_a_viewer_reads_the_list_and_pages_but_cannot_add(app, world, login):
    give_org_x_an_owner(app, world)
    client = login(world.a.viewer)
    response = client.get("/partners/")
    assert response.status_code == 200
    assert listed(response) == sorted(A_NAMES)
    assert "Add an organization" not in text_of(response)
    page = text_of(client.get(f"/partners/{world.a.own[Organization]}"))
    assert "Mission X" in page
    assert "Secret notes X" not in page and "Staff a" not in page
    before = count(app, world)
    assert client.get("/partners/new").status_code == 403
    assert client.post("/partners/new", form_data()).status_code == 403
    assert count(app, world) == before


# --- pagination -------------------------------------------------------------------------------


def test_pages_keep_the_search_and_filters(app, world, login, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)  # restored when the test ends
    add(
        app,
        world,
        "Hope Alpha",
        "Hope Bravo",
        "hope Charlie",
        "Hope Delta",
        "Hope Echo",
        kind=OrganizationKind.FAITH_BASED,
    )
    add(app, world, "Hope Other Kind", kind=OrganizationKind.CIVIC)
    client = login(world.a.staff)

    first = client.get("/partners/?q=hope&kind=faith_based")
    assert listed(first) == ["Hope Alpha", "Hope Bravo"]
    assert 'aria-disabled="true" tabindex="-1">Previous' in first.get_data(as_text=True)
    second_url = link(first, "Next")
    assert "page=2" in second_url and "q=hope" in second_url and "kind=faith_based" in second_url

    second = client.get(second_url)
    assert listed(second) == ["hope Charlie", "Hope Delta"]
    third = client.get(link(second, "Next"))
    assert listed(third) == ["Hope Echo"]  # "Hope Other Kind" stays filtered out
    assert 'aria-disabled="true" tabindex="-1">Next' in third.get_data(as_text=True)

    back = client.get(link(third, "Previous"))
    assert listed(back) == ["hope Charlie", "Hope Delta"]


def test_one_page_needs_no_pager(world, login):
    response = login(world.a.staff).get("/partners/")
    assert 'aria-label="Pages"' not in response.get_data(as_text=True)


# --- the profile fields ---------------------------------------------------------------------

PROFILE = {
    "values": "Dignity and second chances.",
    "clients_served": "Mothers in custody and their children.",
    "website": "https://steps.example/parents",
    "email": "director@steps.example",
    "phone": "(312) 555-0100 x12",
    "phone_alt": "+1 312 555 0101",
    "address": "12 Harbor Way\nHarbor City",
}


def test_the_profile_fields_are_saved_and_shown(app, world, login):
    client = login(world.a.staff)
    response = client.post("/partners/new", form_data(**PROFILE))
    assert response.status_code == 302
    page = client.get(response.location)
    body = text_of(page)
    for value in PROFILE.values():
        assert value.split("\n")[0] in body
    html_body = page.get_data(as_text=True)
    assert 'href="https://steps.example/parents" rel="noopener noreferrer nofollow"' in html_body
    assert 'href="mailto:director@steps.example"' in html_body


PROFILE_BAD_INPUT = [
    pytest.param("phone", "call the front desk", "digits", id="phone in words"),
    pytest.param("phone_alt", "5" * 41, "40 characters", id="long phone"),
    pytest.param("website", "javascript:alert(document.cookie)", "http", id="javascript url"),
    pytest.param("website", "ftp://steps.example", "http", id="ftp url"),
    pytest.param("email", "director at steps", "email address", id="not an email"),
    pytest.param("address", "a" * 1_001, "1,000", id="long address"),
]


@pytest.mark.parametrize(("field", "value", "message"), PROFILE_BAD_INPUT)
def test_bad_profile_input_on_the_staff_form(app, world, login, field, value, message):
    client = login(world.a.staff)
    before = count(app, world)
    sent = form_data(**{**PROFILE, field: value})
    response = client.post("/partners/new", sent)
    assert_form_again_with_the_typing_kept(response, field, message, sent)
    for other in ("website", "email", "phone", "phone_alt"):
        if other != field:
            assert input_value(response, other) == sent[other]
    assert count(app, world) == before


# --- the partner's own profile --------------------------------------------------------------


def test_a_partner_edits_their_profile_and_nothing_else(app, world, login):
    give_org_x_an_owner(app, world)
    org_x = world.a.own[Organization]
    client = login(world.a.partner)
    form = client.get(f"/partners/{org_x}/edit")
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert "Edit the profile of A Partner Org X" in text_of(form)
    assert textarea(form, "mission") == "Mission X"
    for staff_field in ("name", "kind", "stage", "interests", "owner"):
        assert f'name="{staff_field}"' not in body
    assert "Secret notes X" not in body and "Staff a" not in body
    # a forged post with the staff-only fields: they are not even read
    response = client.post(
        f"/partners/{org_x}/edit",
        {
            **PROFILE,
            "mission": "We bring parenting classes inside.",
            "name": "Hijacked Name",
            "kind": "other",
            "stage": "ended",
            "interests": "Overwritten notes",
            "owner": "",
        },
    )
    assert response.status_code == 302
    assert "Your organization's profile was saved." in text_of(client.get(response.location))
    saved = stored(app, world, org_x)
    assert saved.mission == "We bring parenting classes inside."
    assert (saved.website, saved.phone) == (PROFILE["website"], PROFILE["phone"])
    assert (saved.name, saved.kind, saved.stage) == (
        "A Partner Org X",
        OrganizationKind.CIVIC,
        Stage.ACTIVE,
    )
    assert saved.interests == "Secret notes X"
    assert saved.owner_id is not None


@pytest.mark.parametrize(("field", "value", "message"), PROFILE_BAD_INPUT)
def test_bad_input_on_the_partner_profile_form(app, world, login, field, value, message):
    org_x = world.a.own[Organization]
    client = login(world.a.partner)
    sent = {**PROFILE, "mission": "Kept mission", field: value}
    response = client.post(f"/partners/{org_x}/edit", sent)
    assert response.status_code == 422
    assert message in field_error(response, field)
    assert textarea(response, "mission") == "Kept mission"
    assert stored(app, world, org_x).mission == "Mission X"


def test_a_partner_cannot_edit_another_organization(world, login):
    client = login(world.a.partner)
    org_y = world.a.other_org[Organization]
    assert client.get(f"/partners/{org_y}/edit").status_code == 404
    assert client.post(f"/partners/{org_y}/edit", {"mission": "x"}).status_code == 404


def test_viewers_edit_nothing(world, login):
    client = login(world.a.viewer)
    org_x = world.a.own[Organization]
    assert client.get(f"/partners/{org_x}/edit").status_code == 403
    assert client.post(f"/partners/{org_x}/edit", {"mission": "x"}).status_code == 403


# --- moving in the pipeline -----------------------------------------------------------------


def stage_history_rows(app, world, public_id) -> list[tuple]:
    with app.app_context(), workspace_context(world.a.id):
        organization = db.session.execute(
            select(Organization).where(Organization.public_id == public_id)
        ).scalar_one()
        changes = db.session.execute(
            select(StageChange)
            .where(StageChange.organization_id == organization.id)
            .order_by(StageChange.changed_at, StageChange.id)
        ).scalars()
        return [(c.from_stage, c.to_stage, c.note) for c in changes]


def button_form(response, label: str) -> dict:
    """The hidden fields of the form whose button reads `label`."""
    body = response.get_data(as_text=True)
    for form in re.findall(r"<form\b.*?</form>", body, re.S):
        if re.search(rf"<button[^>]*>\s*{re.escape(label)}", form):
            fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
            fields["action"] = html.unescape(re.search(r'action="([^"]+)"', form).group(1))
            return fields
    raise AssertionError(f"no button {label!r}")


def test_start_outreach_moves_an_identified_organization_in_one_click(app, world, login):
    """Journey 1: "She starts outreach on one in a click: the organization moves to
    'researched'"."""
    org_y = world.a.other_org[Organization]
    client = login(world.a.admin)
    page = client.get(f"/partners/{org_y}")
    form = button_form(page, "Start outreach")
    assert form["stage"] == "researched" and form["from_stage"] == "identified"
    response = client.post(form.pop("action"), form)
    assert response.status_code == 302
    assert response.location == f"/partners/{org_y}"
    after = client.get(response.location)
    body = text_of(after)
    assert "A Other Org Y moved to Researched." in body
    assert button_form(after, "Move to Contacted")["stage"] == "contacted"
    assert "Identified → Researched" in body and "Admin a" in body  # the stage history
    assert stored(app, world, org_y).stage is Stage.RESEARCHED
    assert stage_history_rows(app, world, org_y)[-1] == (Stage.IDENTIFIED, Stage.RESEARCHED, "")


def test_clicking_twice_moves_once(app, world, login):
    org_y = world.a.other_org[Organization]
    client = login(world.a.staff)
    form = button_form(client.get(f"/partners/{org_y}"), "Start outreach")
    action = form.pop("action")
    assert client.post(action, form).status_code == 302
    again = client.post(action, form)
    assert again.status_code == 302
    assert "moved to Researched meanwhile; nothing was changed" in text_of(
        client.get(again.location)
    )
    assert stored(app, world, org_y).stage is Stage.RESEARCHED
    assert len(stage_history_rows(app, world, org_y)) == 2


def test_pause_with_a_note_through_the_stage_form(app, world, login):
    org_x = world.a.own[Organization]
    client = login(world.a.staff)
    response = client.post(
        f"/partners/{org_x}/stage",
        {"stage": "paused", "from_stage": "active", "note": "Director on leave until June."},
    )
    assert response.status_code == 302
    body = text_of(client.get(response.location))
    assert "Active → Paused" in body and "Director on leave until June." in body
    assert "Start outreach" not in body and "Move to Contacted" not in body  # no next step
    assert stored(app, world, org_x).stage is Stage.PAUSED


@pytest.mark.parametrize(
    ("sent", "field", "message"),
    [
        pytest.param({"stage": "won"}, "stage", "Choose a stage from the list.", id="bad stage"),
        pytest.param({}, "stage", "Choose a stage from the list.", id="no stage"),
        pytest.param(
            {"stage": "toured", "note": "n" * 2_001}, "note", "2,000 characters", id="long note"
        ),
    ],
)
def test_bad_input_on_the_stage_form(app, world, login, sent, field, message):
    org_y = world.a.other_org[Organization]
    client = login(world.a.staff)
    data = {"note": "Typed note", "from_stage": "identified", **sent}
    response = client.post(f"/partners/{org_y}/stage", data)
    assert response.status_code == 422
    assert message in field_error(response, field)
    if field != "note":
        assert textarea(response, "note") == "Typed note"
    assert "A Other Org Y" in text_of(response)
    assert stored(app, world, org_y).stage is Stage.IDENTIFIED
    assert len(stage_history_rows(app, world, org_y)) == 1


@pytest.mark.parametrize("role", ["viewer", "partner"])
def test_only_staff_and_admins_move_organizations(app, world, login, role):
    client = login(getattr(world.a, role))
    org_x = world.a.own[Organization]
    assert client.post(f"/partners/{org_x}/stage", {"stage": "paused"}).status_code == 403
    assert "Start outreach" not in text_of(client.get(f"/partners/{org_x}"))
    assert stored(app, world, org_x).stage is Stage.ACTIVE


# --- archive and restore --------------------------------------------------------------------


def follow_up_statuses(app, world, public_id) -> list[str]:
    from crm.followups.services import follow_ups_about

    with app.app_context(), workspace_context(world.a.id):
        return [f.status.value for f in follow_ups_about("organization", public_id)]


def test_archive_then_restore(app, world, login):
    org_y = world.a.other_org[Organization]
    client = login(world.a.staff)
    assert follow_up_statuses(app, world, org_y) == ["open"]
    response = client.post(f"/partners/{org_y}/archive")
    assert response.status_code == 302
    page = text_of(client.get(response.location))
    assert "A Other Org Y was archived" in page and "1 open follow-up(s)" in page
    assert "Archived on" in page and "Start outreach" not in page
    assert follow_up_statuses(app, world, org_y) == ["cancelled"]
    assert listed(client.get("/partners/")) == ["A Partner Org X"]
    assert listed(client.get("/partners/?archived=y")) == sorted(A_NAMES)
    response = client.post(f"/partners/{org_y}/restore")
    assert "was restored" in text_of(client.get(response.location))
    assert listed(client.get("/partners/")) == sorted(A_NAMES)
    assert stored(app, world, org_y).archived_at is None


def test_the_delete_page_offers_archiving_when_things_are_attached(world, login):
    client = login(world.a.admin)
    page = client.get(f"/partners/{world.a.other_org[Organization]}/delete")
    assert page.status_code == 200
    body = text_of(page)
    assert "A Other Org Y cannot be deleted" in body
    assert "It has 1 contact, 1 activity and 1 partner user." in body
    assert button_form(page, "Archive it")["action"].endswith("/archive")


@pytest.mark.parametrize("role", ["viewer", "partner"])
def test_only_staff_and_admins_archive(app, world, login, role):
    client = login(getattr(world.a, role))
    org_x = world.a.own[Organization]
    assert client.post(f"/partners/{org_x}/archive").status_code == 403
    assert client.post(f"/partners/{org_x}/restore").status_code == 403
    assert stored(app, world, org_x).archived_at is None


# --- the organization page ------------------------------------------------------------------


def test_staff_see_every_section_of_the_page(world, login):
    response = login(world.a.staff).get(f"/partners/{world.a.own[Organization]}")
    body = text_of(response)
    for shown in (
        "Contacts",
        "Director of A Partner Org X",
        "Outreach log",
        "Called A Partner Org X",
        "Follow-ups",
        "Call A Partner Org X",
        "Stage history",
        "Added as Active",
        "Staff notes",
        "Secret notes X",
    ):
        assert shown in body, shown


@pytest.mark.parametrize("role", ["viewer", "partner"])
def test_partners_and_viewers_see_the_profile_and_contacts_only(world, login, role):
    response = login(getattr(world.a, role)).get(f"/partners/{world.a.own[Organization]}")
    body = text_of(response)
    assert "Mission X" in body and "Director of A Partner Org X" in body
    for hidden in (
        "Outreach log",
        "Called A Partner Org X",
        "Follow-ups",
        "Call A Partner Org X",
        "Stage history",
        "Added as",
        "Staff notes",
        "Secret notes",
        "Research notes",
    ):
        assert hidden not in body, hidden


def test_the_add_a_follow_up_link_names_the_organization(app, world, login):
    org_x = world.a.own[Organization]
    body = login(world.a.staff).get(f"/partners/{org_x}").get_data(as_text=True)
    if "followups.new" in app.view_functions:
        assert (
            f'href="/follow-ups/new?subject_kind=organization&amp;subject_id={org_x}"' in body
            or f"subject_kind=organization&amp;subject_id={org_x}" in body
        )
    else:  # the follow-up pages are not there yet: no dead link
        assert "Add a follow-up" not in body
