"""The pipeline board as staff, viewers and partners use it: a column per stage with its
count, the first cards by name, a "more" link to the filtered list, and "Move to …"."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.partners.models import Organization, OrganizationKind, Stage
from crm.partners.services import OrganizationInput, archive_organization, create_organization
from crm.tenancy import workspace_context


def add(app, world, *names: str, stage=Stage.IDENTIFIED, kind=OrganizationKind.CIVIC, **extra):
    with app.app_context(), workspace_context(world.a.id):
        made = [
            create_organization(OrganizationInput(name=n, kind=kind, stage=stage, **extra))
            for n in names
        ]
        db.session.commit()
        return [o.public_id for o in made]


def columns(response) -> dict[str, tuple[int, list[str]]]:
    """stage label -> (count shown, card names in order)."""
    body = response.get_data(as_text=True)
    found = {}
    for section in re.findall(r'<section class="pipeline-column.*?</section>', body, re.S):
        label = re.search(r"<span>([^<]+)</span>", section).group(1)
        shown = int(
            re.search(r'<span class="badge text-bg-secondary"[^>]*>(\d+)', section).group(1)
        )
        cards = re.findall(r'<a class="fw-semibold" href="/partners/[^"]+">([^<]*)</a>', section)
        found[html.unescape(label)] = (shown, [html.unescape(c) for c in cards])
    return found


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("role", ["admin", "staff", "viewer"])
def test_every_stage_is_a_column_with_its_count(app, world, login, role):
    add(app, world, "Bravo Research", "Alpha Research", stage=Stage.RESEARCHED)
    response = login(getattr(world.a, role)).get("/partners/pipeline")
    assert response.status_code == 200
    board = columns(response)
    assert list(board) == [
        "Identified",
        "Researched",
        "Contacted",
        "Toured",
        "Cross-trained",
        "Agreement",
        "Active",
        "Paused",
        "Ended",
    ]
    assert board["Researched"] == (2, ["Alpha Research", "Bravo Research"])
    assert board["Identified"] == (1, ["A Other Org Y"])
    assert board["Active"] == (1, ["A Partner Org X"])
    assert board["Toured"] == (0, [])
    assert "B Partner Org X" not in text_of(response)


def test_staff_get_a_move_button_on_each_card_and_it_brings_them_back(app, world, login):
    client = login(world.a.staff)
    page = client.get("/partners/pipeline")
    body = page.get_data(as_text=True)
    assert 'Start outreach<span class="visually-hidden">: A Other Org Y</span>' in body
    # active is the end of the pipeline: no button on its card
    assert ": A Partner Org X</span>" not in body
    org_y = world.a.other_org[Organization]
    response = client.post(
        f"/partners/{org_y}/stage",
        {"stage": "researched", "from_stage": "identified", "return_to": "pipeline"},
    )
    assert response.status_code == 302 and response.location == "/partners/pipeline"
    after = client.get(response.location)
    assert "A Other Org Y moved to Researched." in text_of(after)
    board = columns(after)
    assert board["Identified"] == (0, []) and board["Researched"] == (1, ["A Other Org Y"])


def test_viewers_get_no_move_buttons(world, login):
    body = login(world.a.viewer).get("/partners/pipeline").get_data(as_text=True)
    assert "Start outreach" not in body and "Move to" not in body
    assert "/stage" not in body


def test_partners_have_no_pipeline(world, login):
    client = login(world.a.partner)
    assert client.get("/partners/pipeline").status_code == 403
    assert 'href="/partners/pipeline' not in client.get("/partners/").get_data(as_text=True)


def test_a_long_column_shows_twenty_cards_and_links_to_the_rest(app, world, login):
    add(app, world, *[f"Toured {n:02d}" for n in range(23)], stage=Stage.TOURED)
    add(app, world, "Faith Toured", stage=Stage.TOURED, kind=OrganizationKind.FAITH_BASED)
    client = login(world.a.staff)
    response = client.get("/partners/pipeline")
    count, cards = columns(response)["Toured"]
    assert count == 24 and len(cards) == 20
    assert cards[0] == "Faith Toured" and cards[-1] == "Toured 18"
    more = re.search(r'<a class="small" href="([^"]+)">4 more in Toured', text_of(response))
    assert more, "no link to the rest"
    listed = client.get(more.group(1))
    assert "stage=toured" in more.group(1)
    assert "Toured 22" in text_of(listed)
    # with a filter, the link carries it
    filtered = client.get("/partners/pipeline?kind=civic")
    assert columns(filtered)["Toured"][0] == 23
    link = re.search(r'href="([^"]+)">3 more in Toured', text_of(filtered)).group(1)
    assert "kind=civic" in link and "stage=toured" in link


def test_archived_organizations_leave_the_pipeline_unless_asked_for(app, world, login):
    (gone,) = add(app, world, "Gone Research", stage=Stage.RESEARCHED)
    with app.app_context(), workspace_context(world.a.id):
        organization = db.session.execute(
            select(Organization).where(Organization.public_id == gone)
        ).scalar_one()
        archive_organization(organization)
        db.session.commit()
    client = login(world.a.staff)
    assert columns(client.get("/partners/pipeline"))["Researched"] == (0, [])
    with_archived = client.get("/partners/pipeline?archived=y")
    assert columns(with_archived)["Researched"] == (1, ["Gone Research"])
    assert "Start outreach<span" in with_archived.get_data(as_text=True)  # others still move
    assert ": Gone Research</span>" not in with_archived.get_data(as_text=True)


def test_the_owner_filter_is_for_staff_only(app, world, login):
    add(app, world, "Mine To Keep", stage=Stage.CONTACTED, owner=world.a.staff.membership_public_id)
    staff = login(world.a.staff).get("/partners/pipeline?owner=mine")
    assert columns(staff)["Contacted"] == (1, ["Mine To Keep"])
    assert columns(staff)["Identified"] == (0, [])
    # a viewer's "owner" is ignored (the owner is staff-only), not used as a hidden oracle
    viewer = login(world.a.viewer).get(
        f"/partners/pipeline?owner={world.a.staff.membership_public_id}"
    )
    assert columns(viewer)["Identified"] == (1, ["A Other Org Y"])
    assert 'name="owner"' not in viewer.get_data(as_text=True)
