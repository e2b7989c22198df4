"""Organization services: the search staff use to find a partner again, and the checks every
write goes through before anything reaches the database."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.partners.models import Organization, OrganizationKind, Stage
from crm.partners.services import (
    NAME_MAX,
    InvalidInput,
    OrganizationInput,
    StillReferenced,
    create_organization,
    delete_organization,
    search_organizations,
    update_organization,
)
from crm.tenancy import workspace_context

WORLD_NAMES = ["A Other Org Y", "A Partner Org X"]  # what workspace A holds from the start


def add(name: str, kind=OrganizationKind.CIVIC, stage=Stage.IDENTIFIED, **extra) -> Organization:
    return create_organization(OrganizationInput(name=name, kind=kind, stage=stage, **extra))


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
        assert names(search_organizations(query="nami")) == expected
        assert names(search_organizations(query="NAMI")) == expected
        assert names(search_organizations(query="NaMi h")) == ["NAMI Harbor County"]


def test_search_collapses_runs_of_spaces_in_names_and_queries(app, world):
    with app.app_context(), workspace_context(world.a.id):
        organization = add("  Safe   Harbor \t Rape Crisis  ")
        assert organization.name == "Safe Harbor Rape Crisis"
        assert names(search_organizations(query="safe harbor")) == ["Safe Harbor Rape Crisis"]
        assert names(search_organizations(query="  SAFE    harbor  r")) == [
            "Safe Harbor Rape Crisis"
        ]


def test_search_without_a_match_is_empty(app, world):
    with app.app_context(), workspace_context(world.a.id):
        page = search_organizations(query="zzz no such partner")
        assert page.items == []
        assert not page.has_next and not page.has_previous


def test_an_empty_query_lists_the_whole_workspace_and_nothing_of_another(app, world):
    with app.app_context(), workspace_context(world.a.id):
        assert names(search_organizations(query="")) == WORLD_NAMES
        # B's organizations share the prefix: the search never reaches into workspace B
        assert names(search_organizations(query="b partner")) == []


def test_a_prefix_ending_in_the_highest_characters_still_finds_its_names(app, world):
    """The range search steps past the last character of the prefix: at U+D7FF the next one
    is U+E000 (no surrogates), and after U+10FFFF there is none."""
    with app.app_context(), workspace_context(world.a.id):
        add("Edge \ud7ff one")
        add("Edge \ue000 two")
        add("Edge \U0010ffff three")
        assert names(search_organizations(query="edge \ud7ff")) == ["Edge \ud7ff one"]
        assert names(search_organizations(query="edge \U0010ffff")) == ["Edge \U0010ffff three"]
        assert names(search_organizations(query="\U0010ffff")) == []
        assert names(search_organizations(query="edge\x00")) == [
            "Edge \ud7ff one",
            "Edge \ue000 two",
            "Edge \U0010ffff three",
        ]


def test_kind_and_stage_filters(app, world):
    with app.app_context(), workspace_context(world.a.id):
        add("Faith Active", OrganizationKind.FAITH_BASED, Stage.ACTIVE)
        add("Faith Toured", OrganizationKind.FAITH_BASED, Stage.TOURED)
        add("Peers Active", OrganizationKind.PEER_SUPPORT, Stage.ACTIVE)
        faith = search_organizations(kind=OrganizationKind.FAITH_BASED)
        assert names(faith) == ["A Other Org Y", "Faith Active", "Faith Toured"]
        active = search_organizations(stage=Stage.ACTIVE)
        assert names(active) == ["A Partner Org X", "Faith Active", "Peers Active"]
        both = search_organizations(kind=OrganizationKind.FAITH_BASED, stage=Stage.ACTIVE)
        assert names(both) == ["Faith Active"]
        assert names(search_organizations(query="peers", stage=Stage.TOURED)) == []


def test_pages_are_sorted_by_name_whatever_the_case(app, world):
    """Sorted as people read names, not by the order rows were added nor upper case first."""
    with app.app_context(), workspace_context(world.a.id):
        for name in ["delta", "Bravo", "echo", "Alpha", "charlie"]:
            add(f"Sorted {name}")
        first = search_organizations(query="sorted", per_page=2)
        second = search_organizations(query="sorted", page=2, per_page=2)
        last = search_organizations(query="sorted", page=3, per_page=2)
        assert names(first) == ["Sorted Alpha", "Sorted Bravo"]
        assert first.has_next and not first.has_previous
        assert names(second) == ["Sorted charlie", "Sorted delta"]
        assert second.has_next and second.has_previous
        assert names(last) == ["Sorted echo"]
        assert not last.has_next and last.has_previous


def test_a_full_last_page_has_no_next_page(app, world):
    with app.app_context(), workspace_context(world.a.id):
        page = search_organizations(per_page=len(WORLD_NAMES))
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
        assert names(search_organizations(query="harbor legal")) == ["Harbor Legal Aid"]


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
        assert names(search_organizations(query="old name")) == []
        assert names(search_organizations(query="new name")) == ["New Name Society"]


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
        assert names(search_organizations(query="short lived")) == []


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
