"""Organization services: the search staff use to find a partner again, and the checks every
write goes through before anything reaches the database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm import clock
from crm.extensions import db
from crm.followups.models import FollowUpStatus
from crm.followups.services import create_follow_up, follow_ups_about
from crm.partners.models import Organization, OrganizationKind, Stage, StageChange
from crm.partners.services import (
    NAME_MAX,
    Attached,
    InvalidInput,
    OrganizationFilter,
    OrganizationInput,
    ProfileInput,
    StillReferenced,
    WriteRefused,
    advance_stage,
    archive_organization,
    attached_to,
    change_stage,
    create_organization,
    delete_organization,
    next_stage,
    restore_organization,
    search_organizations,
    update_organization,
    update_profile,
)
from crm.roles import Role
from crm.tenancy import WorkspaceMismatchError, workspace_context
from crm.workspaces.models import Membership

WORLD_NAMES = ["A Other Org Y", "A Partner Org X"]  # what workspace A holds from the start


def add(name: str, kind=OrganizationKind.CIVIC, stage=Stage.IDENTIFIED, **extra) -> Organization:
    return create_organization(OrganizationInput(name=name, kind=kind, stage=stage, **extra))


def search(*, page: int = 1, per_page: int = 50, **filters):
    return search_organizations(OrganizationFilter(**filters), page=page, per_page=per_page)


def names(page) -> list[str]:
    return [organization.name for organization in page.items]


def count() -> int:
    return db.session.execute(select(func.count(Organization.id))).scalar_one()


def load(public_id: uuid.UUID) -> Organization:
    db.session.expire_all()
    return db.session.execute(
        select(Organization).where(Organization.public_id == public_id)
    ).scalar_one()


def test_search_by_name_prefix_in_any_case(app, world):
    """Staff type "nami" for "NAMI Harbor County": the case they type must not matter."""
    with app.app_context(), workspace_context(world.a.id):
        add("NAMI Harbor County", OrganizationKind.MENTAL_HEALTH)
        add("nami youth line", OrganizationKind.MENTAL_HEALTH)
        add("Harbor NAMI Friends")  # contains the word, does not start with it
        expected = ["NAMI Harbor County", "nami youth line"]
        assert names(search(query="nami")) == expected
        assert names(search(query="NAMI")) == expected
        assert names(search(query="NaMi h")) == ["NAMI Harbor County"]


def test_search_collapses_runs_of_spaces_in_names_and_queries(app, world):
    with app.app_context(), workspace_context(world.a.id):
        organization = add("  Safe   Harbor \t Rape Crisis  ")
        assert organization.name == "Safe Harbor Rape Crisis"
        assert names(search(query="safe harbor")) == ["Safe Harbor Rape Crisis"]
        assert names(search(query="  SAFE    harbor  r")) == ["Safe Harbor Rape Crisis"]


def test_search_without_a_match_is_empty(app, world):
    with app.app_context(), workspace_context(world.a.id):
        page = search(query="zzz no such partner")
        assert page.items == []
        assert not page.has_next and not page.has_previous


def test_an_empty_query_lists_the_whole_workspace_and_nothing_of_another(app, world):
    with app.app_context(), workspace_context(world.a.id):
        assert names(search(query="")) == WORLD_NAMES
        # B's organizations share the prefix: the search never reaches into workspace B
        assert names(search(query="b partner")) == []


def test_a_prefix_ending_in_the_highest_characters_still_finds_its_names(app, world):
    """The range search steps past the last character of the prefix: at U+D7FF the next one
    is U+E000 (no surrogates), and after U+10FFFF there is none."""
    with app.app_context(), workspace_context(world.a.id):
        add("Edge \ud7ff one")
        add("Edge \ue000 two")
        add("Edge \U0010ffff three")
        assert names(search(query="edge \ud7ff")) == ["Edge \ud7ff one"]
        assert names(search(query="edge \U0010ffff")) == ["Edge \U0010ffff three"]
        assert names(search(query="\U0010ffff")) == []
        assert names(search(query="edge\x00")) == [
            "Edge \ud7ff one",
            "Edge \ue000 two",
            "Edge \U0010ffff three",
        ]


def test_kind_and_stage_filters(app, world):
    with app.app_context(), workspace_context(world.a.id):
        add("Faith Active", OrganizationKind.FAITH_BASED, Stage.ACTIVE)
        add("Faith Toured", OrganizationKind.FAITH_BASED, Stage.TOURED)
        add("Peers Active", OrganizationKind.PEER_SUPPORT, Stage.ACTIVE)
        faith = search(kind=OrganizationKind.FAITH_BASED)
        assert names(faith) == ["A Other Org Y", "Faith Active", "Faith Toured"]
        active = search(stage=Stage.ACTIVE)
        assert names(active) == ["A Partner Org X", "Faith Active", "Peers Active"]
        both = search(kind=OrganizationKind.FAITH_BASED, stage=Stage.ACTIVE)
        assert names(both) == ["Faith Active"]
        assert names(search(query="peers", stage=Stage.TOURED)) == []


def test_pages_are_sorted_by_name_whatever_the_case(app, world):
    """Sorted as people read names, not by the order rows were added nor upper case first."""
    with app.app_context(), workspace_context(world.a.id):
        for name in ["delta", "Bravo", "echo", "Alpha", "charlie"]:
            add(f"Sorted {name}")
        first = search(query="sorted", per_page=2)
        second = search(query="sorted", page=2, per_page=2)
        last = search(query="sorted", page=3, per_page=2)
        assert names(first) == ["Sorted Alpha", "Sorted Bravo"]
        assert first.has_next and not first.has_previous
        assert names(second) == ["Sorted charlie", "Sorted delta"]
        assert second.has_next and second.has_previous
        assert names(last) == ["Sorted echo"]
        assert not last.has_next and last.has_previous


def test_a_full_last_page_has_no_next_page(app, world):
    with app.app_context(), workspace_context(world.a.id):
        page = search(per_page=len(WORLD_NAMES))
        assert names(page) == WORLD_NAMES
        assert not page.has_next


def test_create_organization(app, world):
    with app.app_context(), workspace_context(world.a.id):
        organization = add(
            "Harbor Legal Aid",
            OrganizationKind.OTHER,
            Stage.RESEARCHED,
            mission="  Civil legal help.  ",
            interests="Ask about expungement clinics.",
            owner=world.a.staff.membership_public_id,
        )
        saved = load(organization.public_id)
        assert saved.workspace_id == world.a.id
        assert (saved.name, saved.kind, saved.stage) == (
            "Harbor Legal Aid",
            OrganizationKind.OTHER,
            Stage.RESEARCHED,
        )
        assert saved.mission == "Civil legal help."
        assert saved.interests == "Ask about expungement clinics."
        assert saved.owner_id is not None
        assert names(search(query="harbor legal")) == ["Harbor Legal Aid"]


def test_kind_and_stage_may_be_given_as_the_form_sends_them(app, world):
    with app.app_context(), workspace_context(world.a.id):
        organization = add("Plain Strings", "womens_health", "cross_trained")
        assert load(organization.public_id).kind is OrganizationKind.WOMENS_HEALTH
        assert load(organization.public_id).stage is Stage.CROSS_TRAINED


def test_update_organization_renames_and_the_search_follows(app, world):
    with app.app_context(), workspace_context(world.a.id):
        organization = add("Old Name Society")
        update_organization(
            organization,
            OrganizationInput(
                name="New Name Society",
                kind=OrganizationKind.PEER_SUPPORT,
                stage=Stage.CONTACTED,
                mission="Changed mission",
            ),
        )
        saved = load(organization.public_id)
        assert (saved.name, saved.kind, saved.stage, saved.mission) == (
            "New Name Society",
            OrganizationKind.PEER_SUPPORT,
            Stage.CONTACTED,
            "Changed mission",
        )
        assert names(search(query="old name")) == []
        assert names(search(query="new name")) == ["New Name Society"]


def test_update_can_clear_the_owner(app, world):
    with app.app_context(), workspace_context(world.a.id):
        organization = add("Owned", owner=world.a.admin.membership_public_id)
        assert organization.owner_id is not None
        update_organization(organization, OrganizationInput(name="Owned", kind="civic"))
        assert load(organization.public_id).owner_id is None


def test_delete_organization(app, world):
    with app.app_context(), workspace_context(world.a.id):
        organization = add("Short Lived")
        before = count()
        delete_organization(organization)
        assert count() == before - 1
        assert names(search(query="short lived")) == []


def test_delete_is_refused_while_partner_users_belong_to_the_organization(app, world):
    """Organization X has a partner user: deleting it would strand their account."""
    with app.app_context(), workspace_context(world.a.id):
        organization = load(world.a.own[Organization])
        before = count()
        with pytest.raises(StillReferenced, match="1 partner user"):
            delete_organization(organization)
        assert count() == before
        assert load(world.a.own[Organization]).name == "A Partner Org X"


BAD_INPUT = [
    pytest.param({"name": ""}, "name", "Enter the organization's name.", id="empty name"),
    pytest.param({"name": "   \t "}, "name", "Enter the organization's name.", id="blank name"),
    pytest.param(
        {"name": "x" * (NAME_MAX + 1)}, "name", "Use at most 200 characters.", id="201 chars"
    ),
    pytest.param({"name": "Nul\x00Name"}, "name", "NUL", id="NUL in the name"),
    pytest.param({"interests": "a\x00b"}, "interests", "NUL", id="NUL in the notes"),
    pytest.param({"kind": "spaceship"}, "kind", "Choose a kind from the list.", id="bad kind"),
    pytest.param({"kind": ""}, "kind", "Choose a kind from the list.", id="no kind"),
    pytest.param({"stage": "won"}, "stage", "Choose a stage from the list.", id="bad stage"),
    pytest.param({"mission": "m" * 10_001}, "mission", "Use at most 10,000", id="long mission"),
    pytest.param({"owner": "not-a-uuid"}, "owner", "Choose an owner", id="owner not an id"),
    pytest.param({"owner": uuid.uuid4()}, "owner", "Choose an owner", id="owner unknown"),
]


def good_input(**changes) -> OrganizationInput:
    values = {"name": "Valid Name", "kind": OrganizationKind.CIVIC, "stage": Stage.IDENTIFIED}
    values.update(changes)
    return OrganizationInput(**values)


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUT)
def test_create_refuses_bad_input_and_writes_nothing(app, world, changes, field, message):
    with app.app_context(), workspace_context(world.a.id):
        before = count()
        with pytest.raises(InvalidInput) as refused:
            create_organization(good_input(**changes))
        assert list(refused.value.errors) == [field]
        assert message in refused.value.errors[field]
        assert count() == before


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUT)
def test_update_refuses_bad_input_and_changes_nothing(app, world, changes, field, message):
    with app.app_context(), workspace_context(world.a.id):
        organization = load(world.a.other_org[Organization])
        with pytest.raises(InvalidInput) as refused:
            update_organization(organization, good_input(**changes))
        assert message in refused.value.errors[field]
        saved = load(world.a.other_org[Organization])
        assert (saved.name, saved.kind, saved.mission) == (
            "A Other Org Y",
            OrganizationKind.FAITH_BASED,
            "Mission Y",
        )


def test_every_bad_field_is_reported_at_once(app, world):
    """The form can then mark every field in one round trip."""
    with app.app_context(), workspace_context(world.a.id):
        with pytest.raises(InvalidInput) as refused:
            create_organization(OrganizationInput(name="", kind="x", stage="y", owner="z"))
        assert set(refused.value.errors) == {"name", "kind", "stage", "owner"}


def test_a_name_of_exactly_200_characters_is_accepted(app, world):
    with app.app_context(), workspace_context(world.a.id):
        assert len(add("n" * NAME_MAX).name) == NAME_MAX


@pytest.mark.parametrize(
    "owner",
    [
        pytest.param(lambda world: world.b.staff.membership_public_id, id="staff of workspace B"),
        pytest.param(lambda world: world.b.admin.membership_public_id, id="admin of workspace B"),
        pytest.param(lambda world: world.a.partner.membership_public_id, id="partner of A"),
        pytest.param(lambda world: world.a.viewer.membership_public_id, id="viewer of A"),
    ],
)
def test_the_owner_is_a_staff_member_or_admin_of_this_workspace(app, world, owner):
    """Another workspace's member is as unknown as a made-up id; partners and viewers do not
    own relationships."""
    with app.app_context(), workspace_context(world.a.id):
        before = count()
        with pytest.raises(InvalidInput) as refused:
            create_organization(good_input(owner=owner(world)))
        assert refused.value.errors == {"owner": "Choose an owner from the list."}
        assert count() == before
        organization = load(world.a.other_org[Organization])
        with pytest.raises(InvalidInput):
            update_organization(organization, good_input(owner=owner(world)))
        assert load(world.a.other_org[Organization]).owner_id is None


def test_owner_of_workspace_b_is_accepted_in_workspace_b(app, world):
    """The control of the test above: the same id works where it belongs."""
    with app.app_context(), workspace_context(world.b.id):
        organization = add("B Owned", owner=world.b.staff.membership_public_id)
        assert organization.owner_id is not None


# --- the profile: phones, website, email and the other new fields ---------------------------


def test_the_profile_fields_are_saved_trimmed(app, world):
    with app.app_context(), workspace_context(world.a.id):
        organization = add(
            "Profiled",
            values="  Dignity. ",
            clients_served=" Women leaving jail ",
            website="  https://profiled.example/about ",
            email=" director@profiled.example ",
            phone="(312) 555-0100  x12",
            phone_alt="+1 312.555.0101",
            address=" 1 Main St\nHarbor ",
        )
        saved = load(organization.public_id)
        assert (saved.values, saved.clients_served) == ("Dignity.", "Women leaving jail")
        assert saved.website == "https://profiled.example/about"
        assert saved.email == "director@profiled.example"
        assert (saved.phone, saved.phone_alt) == ("(312) 555-0100 x12", "+1 312.555.0101")
        assert saved.address == "1 Main St\nHarbor"


def test_a_website_without_a_scheme_is_taken_as_https(app, world):
    with app.app_context(), workspace_context(world.a.id):
        assert add("Bare Host", website="bare.example/x").website == "https://bare.example/x"
        assert add("Plain Http", website="http://plain.example").website == "http://plain.example"


PROFILE_BAD_INPUT = [
    pytest.param({"phone": "call me maybe"}, "phone", "digits", id="phone with words"),
    pytest.param({"phone": "555-0100; DROP"}, "phone", "digits", id="phone with a semicolon"),
    pytest.param({"phone_alt": "( ) - ."}, "phone_alt", "digits", id="phone without digits"),
    pytest.param({"phone": "1" * 41}, "phone", "40 characters", id="41 digit phone"),
    pytest.param({"website": "javascript:alert(1)"}, "website", "http", id="javascript url"),
    pytest.param({"website": "ftp://files.example"}, "website", "http", id="ftp url"),
    pytest.param({"website": "data:text/html,hi"}, "website", "http", id="data url"),
    pytest.param({"website": "https://"}, "website", "http", id="no host"),
    pytest.param({"website": "https://exa mple.org"}, "website", "http", id="space in host"),
    pytest.param({"website": "https://x.org/" + "a" * 300}, "website", "300", id="long url"),
    pytest.param({"email": "director"}, "email", "email address", id="email without @"),
    pytest.param({"email": "a@b"}, "email", "email address", id="email without dot"),
    pytest.param({"email": "a b@c.org"}, "email", "email address", id="email with space"),
    pytest.param({"email": "@c.org"}, "email", "email address", id="email without name"),
    pytest.param({"address": "a" * 1_001}, "address", "1,000", id="long address"),
    pytest.param({"values": "v" * 10_001}, "values", "10,000", id="long values"),
    pytest.param({"clients_served": "c\x00"}, "clients_served", "NUL", id="NUL in clients"),
]


@pytest.mark.parametrize(("changes", "field", "message"), PROFILE_BAD_INPUT)
def test_bad_profile_fields_are_refused_and_nothing_is_written(app, world, changes, field, message):
    with app.app_context(), workspace_context(world.a.id):
        before = count()
        with pytest.raises(InvalidInput) as refused:
            create_organization(good_input(**changes))
        assert list(refused.value.errors) == [field]
        assert message in refused.value.errors[field]
        assert count() == before
        with pytest.raises(InvalidInput):
            update_profile(load(world.a.own[Organization]), ProfileInput(**changes))
        assert load(world.a.own[Organization]).phone == ""


def test_update_profile_changes_only_the_profile(app, world):
    """What a partner may change: never the name, kind, stage, owner or research notes."""
    with app.app_context(), workspace_context(world.a.id):
        organization = load(world.a.own[Organization])
        update_profile(
            organization,
            ProfileInput(
                mission="New mission",
                values="Respect",
                clients_served="Mothers",
                website="https://x.example",
                email="hello@x.example",
                phone="555 0100",
                phone_alt="",
                address="2 Side St",
            ),
        )
        saved = load(world.a.own[Organization])
        assert (saved.mission, saved.values, saved.clients_served) == (
            "New mission",
            "Respect",
            "Mothers",
        )
        assert (saved.website, saved.email, saved.phone, saved.address) == (
            "https://x.example",
            "hello@x.example",
            "555 0100",
            "2 Side St",
        )
        assert (saved.name, saved.kind, saved.stage, saved.interests) == (
            "A Partner Org X",
            OrganizationKind.CIVIC,
            Stage.ACTIVE,
            "Secret notes X",
        )


def test_update_profile_in_a_partners_scope_keeps_the_staff_only_fields(app, world):
    """A partner's scope loads research notes and owner blanked: saving the profile must not
    write those blanks back."""
    with app.app_context(), workspace_context(world.a.id):
        update_organization(
            load(world.a.own[Organization]),
            good_input(
                name="A Partner Org X",
                kind="civic",
                stage="active",
                interests="Secret notes X",
                owner=world.a.staff.membership_public_id,
            ),
        )
        db.session.commit()
    with (
        app.app_context(),
        workspace_context(world.a.id, organization_id=world.a.org_x_id, hide_staff_only=True),
    ):
        organization = load(world.a.own[Organization])
        assert organization.interests is None and organization.owner_id is None  # blanked
        update_profile(organization, ProfileInput(mission="Partner's words"))
        db.session.commit()
    with app.app_context(), workspace_context(world.a.id):
        saved = load(world.a.own[Organization])
        assert saved.mission == "Partner's words"
        assert saved.interests == "Secret notes X"
        assert saved.owner_id is not None


# --- stage changes --------------------------------------------------------------------------


def membership(public_id) -> Membership:
    return db.session.execute(
        select(Membership).where(Membership.public_id == public_id)
    ).scalar_one()


def history(organization: Organization) -> list[tuple]:
    rows = db.session.execute(
        select(StageChange)
        .where(StageChange.organization_id == organization.id)
        .order_by(StageChange.changed_at, StageChange.id)
    ).scalars()
    return [(c.from_stage, c.to_stage, c.changed_by_id, c.note) for c in rows]


def test_creating_an_organization_writes_its_first_stage_change(app, world):
    with app.app_context(), workspace_context(world.a.id):
        staff = membership(world.a.staff.membership_public_id)
        organization = create_organization(good_input(stage="contacted"), by=staff)
        assert history(organization) == [(None, Stage.CONTACTED, staff.id, "")]


def test_change_stage_records_from_to_when_and_who(app, world):
    moment = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
    with app.app_context(), workspace_context(world.a.id), clock.frozen(moment):
        staff = membership(world.a.staff.membership_public_id)
        organization = add("Mover")
        change = change_stage(organization, "toured", staff, note="  Toured Unit F.  ")
        assert (change.from_stage, change.to_stage, change.changed_at) == (
            Stage.IDENTIFIED,
            Stage.TOURED,
            moment,
        )
        assert load(organization.public_id).stage is Stage.TOURED
        assert history(organization)[-1] == (
            Stage.IDENTIFIED,
            Stage.TOURED,
            staff.id,
            "Toured Unit F.",
        )


def test_advance_stage_walks_the_pipeline_to_active_and_stops(app, world):
    """Journey 1: one click from identified to researched; then on, step by step."""
    with app.app_context(), workspace_context(world.a.id):
        admin = membership(world.a.admin.membership_public_id)
        organization = add("Walker")
        reached = [advance_stage(organization, admin).to_stage for _ in range(6)]
        assert reached == [
            Stage.RESEARCHED,
            Stage.CONTACTED,
            Stage.TOURED,
            Stage.CROSS_TRAINED,
            Stage.AGREEMENT,
            Stage.ACTIVE,
        ]
        with pytest.raises(WriteRefused, match="no next stage"):
            advance_stage(organization, admin)
        assert len(history(organization)) == 7


@pytest.mark.parametrize("stage", [Stage.PAUSED, Stage.ENDED])
def test_paused_and_ended_are_set_explicitly_and_have_no_next_stage(app, world, stage):
    with app.app_context(), workspace_context(world.a.id):
        staff = membership(world.a.staff.membership_public_id)
        organization = add(f"Off the path {stage}", stage=Stage.CONTACTED)
        change_stage(organization, stage, staff)
        assert next_stage(stage) is None
        with pytest.raises(WriteRefused):
            advance_stage(organization, staff)
        change_stage(organization, Stage.CONTACTED, staff, note="Back on track")
        assert load(organization.public_id).stage is Stage.CONTACTED


def test_a_stale_page_moves_nothing(app, world):
    """Two tabs, or a double click on "Start outreach": the second move finds the stage it
    expected gone and changes nothing."""
    with app.app_context(), workspace_context(world.a.id):
        staff = membership(world.a.staff.membership_public_id)
        organization = add("Double Click")
        change_stage(organization, "researched", staff, expected_from="identified")
        with pytest.raises(WriteRefused, match="moved to Researched meanwhile"):
            change_stage(organization, "researched", staff, expected_from="identified")
        with pytest.raises(WriteRefused, match="already Researched"):
            change_stage(organization, "researched", staff)
        assert len(history(organization)) == 2


@pytest.mark.parametrize(
    ("stage", "note", "field"),
    [("won", "", "stage"), ("", "", "stage"), ("toured", "n" * 2_001, "note")],
)
def test_change_stage_refuses_bad_input(app, world, stage, note, field):
    with app.app_context(), workspace_context(world.a.id):
        staff = membership(world.a.staff.membership_public_id)
        organization = add("Careful")
        with pytest.raises(InvalidInput) as refused:
            change_stage(organization, stage, staff, note)
        assert list(refused.value.errors) == [field]
        assert load(organization.public_id).stage is Stage.IDENTIFIED
        assert len(history(organization)) == 1


@pytest.mark.parametrize("role", ["viewer", "partner"])
def test_only_staff_and_admins_move_organizations(app, world, role):
    with app.app_context(), workspace_context(world.a.id):
        mover = membership(getattr(world.a, role).membership_public_id)
        organization = add("Not Yours To Move")
        with pytest.raises(InvalidInput):
            change_stage(organization, "researched", mover)
        assert load(organization.public_id).stage is Stage.IDENTIFIED


def test_an_archived_organization_is_not_moved(app, world):
    with app.app_context(), workspace_context(world.a.id):
        staff = membership(world.a.staff.membership_public_id)
        organization = add("Shelved")
        archive_organization(organization)
        with pytest.raises(WriteRefused, match="restore it first"):
            change_stage(organization, "researched", staff)
        with pytest.raises(InvalidInput) as refused:
            update_organization(organization, good_input(name="Shelved", stage="toured"))
        assert "restore it first" in refused.value.errors["stage"]


def test_an_edit_that_changes_the_stage_goes_through_the_history(app, world):
    with app.app_context(), workspace_context(world.a.id):
        staff = membership(world.a.staff.membership_public_id)
        organization = add("Edited Stage")
        update_organization(organization, good_input(name="Edited Stage", stage="toured"), staff)
        update_organization(organization, good_input(name="Edited Stage", stage="toured"), staff)
        assert history(organization)[1:] == [(Stage.IDENTIFIED, Stage.TOURED, staff.id, "")]


def test_a_mover_of_another_workspace_is_refused(app, world):
    with app.app_context(), workspace_context(world.b.id):
        stranger_id = membership(world.b.staff.membership_public_id).id
    with app.app_context(), workspace_context(world.a.id):
        organization = add("Guarded")
        stranger = Membership(id=stranger_id, workspace_id=world.b.id, role=Role.STAFF)
        with pytest.raises(WorkspaceMismatchError):
            change_stage(organization, "researched", stranger)


# --- archive, restore, delete ---------------------------------------------------------------


def follow_up_statuses(organization: Organization) -> list[FollowUpStatus]:
    return [f.status for f in follow_ups_about("organization", organization.public_id)]


def test_archive_cancels_open_follow_ups_and_leaves_the_lists(app, world):
    with app.app_context(), workspace_context(world.a.id):
        organization = load(world.a.other_org[Organization])
        assert follow_up_statuses(organization) == [FollowUpStatus.OPEN]
        assert archive_organization(organization) == 1
        assert follow_up_statuses(organization) == [FollowUpStatus.CANCELLED]
        assert load(world.a.other_org[Organization]).archived_at is not None
        assert names(search()) == ["A Partner Org X"]
        assert names(search(include_archived=True)) == WORLD_NAMES
        assert archive_organization(organization) == 0  # twice is harmless
        restore_organization(organization)
        assert load(world.a.other_org[Organization]).archived_at is None
        assert names(search()) == WORLD_NAMES
        # restoring does not bring cancelled follow-ups back: they were decided
        assert follow_up_statuses(organization) == [FollowUpStatus.CANCELLED]


def test_delete_is_refused_with_contacts_or_activities_and_says_what_to_do(app, world):
    with app.app_context(), workspace_context(world.a.id):
        organization = load(world.a.other_org[Organization])
        before = count()
        with pytest.raises(StillReferenced) as refused:
            delete_organization(organization)
        message = str(refused.value)
        assert "1 contact, 1 activity and 1 partner user" in message
        assert "Archive it instead" in message
        assert count() == before


def test_delete_of_a_bare_organization_removes_its_history_and_cancels_follow_ups(app, world):
    with app.app_context(), workspace_context(world.a.id):
        staff = membership(world.a.staff.membership_public_id)
        changes_before = count_stage_changes()
        organization = create_organization(good_input(name="Typo Org"), by=staff)
        create_follow_up(
            subject_kind="organization",
            subject_id=organization.public_id,
            title="Call",
            assignee=staff,
            due_at=clock.now() + timedelta(days=2),
        )
        public_id = organization.public_id
        assert attached_to(organization) == Attached(0, 0, 0)
        assert count_stage_changes() == changes_before + 1
        delete_organization(organization)
        assert count_stage_changes() == changes_before  # its history went with it
        assert [f.status for f in follow_ups_about("organization", public_id)] == [
            FollowUpStatus.CANCELLED
        ]


def count_stage_changes() -> int:
    return db.session.execute(select(func.count(StageChange.id))).scalar_one()
