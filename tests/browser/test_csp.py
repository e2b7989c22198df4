"""The pages under the Content-Security-Policy in a real browser: chromium reports no violation,
Bootstrap's script still works, and text keeps its line breaks without an inline style."""

from __future__ import annotations

import uuid

import pytest

from tests.browser.test_organizations import add_organization, log_in

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the browser fixture skips (or, in CI, fails) with the reason
    Page = expect = None

pytestmark = pytest.mark.browser


def csp_violations(page: Page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


def test_the_pages_break_no_rule_of_the_csp(live_server, page: Page):
    violations = csp_violations(page)
    log_in(page, live_server)
    name = f"Second Chance Books {uuid.uuid4().hex[:8]}"
    add_organization(
        page, name, "Civic / volunteer", mission="Books for the library.\nTutoring on Tuesdays."
    )
    mission = page.get_by_text("Books for the library.")
    assert mission.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-line"
    for path in ("/partners/", "/partners/new", "/account/password"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()

    # Bootstrap's script runs: on a narrow screen the menu button opens the menu.
    page.set_viewport_size({"width": 500, "height": 800})
    page.goto("/partners/")
    main_nav = page.get_by_role("navigation", name="Main")
    expect(main_nav.get_by_role("link", name="Partners")).to_be_hidden()
    page.get_by_role("button", name="Show navigation").click()
    expect(main_nav.get_by_role("link", name="Partners")).to_be_visible()
    assert violations == []

    # The control: an inline style is refused and reported, so the silence above means something.
    page.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">inline</p>')"
    )
    page.wait_for_timeout(200)
    assert any("style-src" in v for v in violations), violations
