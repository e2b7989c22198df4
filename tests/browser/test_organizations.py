"""Organizations in a real browser: log in, add one, find it again by a prefix of its name.

Only role and label locators: if a label stops naming its field, these tests fail.
"""

from __future__ import annotations

import re
import uuid

import pytest

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the browser fixture skips (or, in CI, fails) with the reason
    Page = expect = None

pytestmark = pytest.mark.browser


def log_in(page: Page, live_server) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Email").fill(live_server.email)
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(live_server.workspace_name)


def go_to_partners(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Partners").click()
    expect(page.get_by_role("heading", name="Partners", level=1)).to_be_visible()


def add_organization(page: Page, name: str, kind: str, mission: str = "") -> None:
    go_to_partners(page)
    page.get_by_role("link", name="Add an organization").click()
    expect(page.get_by_role("heading", name="Add an organization")).to_be_visible()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Kind", exact=True).select_option(label=kind)
    if mission:
        page.get_by_label("Mission", exact=True).fill(mission)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"{name} was added.")


def test_add_an_organization_then_find_it_by_a_prefix_in_another_case(live_server, page: Page):
    token = uuid.uuid4().hex[:8]
    other = f"Harbor Light Ministries {token}"
    name = f"Riverside Reentry Alliance {token}"
    log_in(page, live_server)

    add_organization(page, other, "Faith-based")
    add_organization(page, name, "Job skills / placement", mission="Jobs on release.")
    expect(page.get_by_text("Job skills / placement")).to_be_visible()
    expect(page.get_by_text("Jobs on release.")).to_be_visible()

    go_to_partners(page)
    search = page.get_by_role("search", name="Find organizations")
    search.get_by_label("Name starts with").fill("rIVERSIDE reENTRY")
    search.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"[?&]q=rIVERSIDE\+reENTRY"))
    results = page.get_by_role("table")
    expect(results.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(results.get_by_role("link", name=other, exact=True)).to_have_count(0)
    expect(search.get_by_label("Name starts with")).to_have_value("rIVERSIDE reENTRY")

    results.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def test_a_form_without_a_name_says_so_and_keeps_what_was_typed(live_server, page: Page):
    mission = f"Chess club on Tuesdays, {uuid.uuid4().hex[:8]}.\nSecond line kept too."
    log_in(page, live_server)
    go_to_partners(page)
    page.get_by_role("link", name="Add an organization").click()

    page.get_by_label("Kind", exact=True).select_option(label="Civic / volunteer")
    page.get_by_label("Mission", exact=True).fill(mission)
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved yet.")
    name = page.get_by_label("Name", exact=True)
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description("Enter the organization's name.")
    expect(name).to_have_value("")
    expect(page.get_by_label("Mission", exact=True)).to_have_value(mission)
    expect(page.get_by_label("Kind", exact=True)).to_have_value("civic")
