"""Journey 3, first half, in a real browser (JOURNEYS.md): Dana logs the tour with the two
visitors and the officer who walked them, the organization moves along to "toured", and her next
step lands on "My follow-ups".

Only role and label locators, as in test_organizations.py.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.test_organizations import add_organization, log_in

try:
    from playwright.sync_api import Page, expect
except ImportError:  # the browser fixture skips (or, in CI, fails) with the reason
    Page = expect = None

pytestmark = pytest.mark.browser

LIVE_ZONE = ZoneInfo("America/Chicago")  # the live server's workspace


def add_contact(page: Page, name: str, title: str) -> None:
    page.get_by_role("link", name="Add a contact").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Title or role").fill(title)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text(f"{name} was added.")


def test_log_a_tour_move_the_stage_and_find_the_next_step_on_my_list(live_server, page: Page):
    token = uuid.uuid4().hex[:6]
    name = f"Parents Forward {token}"
    next_step = f"Call the director about the class {token}"
    log_in(page, live_server)
    add_organization(page, name, "Child welfare")
    organization_page = page.url

    # outreach starts in one click: identified -> researched
    # (the organization's name is there for screen readers, after a space chromium inserts)
    page.get_by_role("button", name=re.compile(rf"^Start outreach\s*: {re.escape(name)}$")).click()
    expect(page.get_by_role("status")).to_contain_text(f"{name} moved to Researched.")

    add_contact(page, f"Maria Lopez {token}", "Director")
    add_contact(page, f"Sam Okafor {token}", "Facilitator")

    page.get_by_role("link", name="Log an activity").click()
    expect(page.get_by_role("heading", name="Log an activity")).to_be_visible()
    page.get_by_label("Kind", exact=True).select_option(label="Tour")
    now = datetime.now(LIVE_ZONE).replace(second=0, microsecond=0)
    page.get_by_label("When").fill((now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    attendees = page.get_by_role("group", name="People of the organization")
    attendees.get_by_label(f"Maria Lopez {token}, Director").check()
    attendees.get_by_label(f"Sam Okafor {token}, Facilitator").check()
    page.get_by_role("group", name="Staff").get_by_label("Live Staff").check()
    page.get_by_label("Summary").fill("Walked Unit F and the classroom; they liked the space.")
    page.get_by_label("Next step", exact=True).fill(next_step)
    tomorrow = now.date() + timedelta(days=1)
    page.get_by_label("Next step on").fill(tomorrow.isoformat())
    page.get_by_label("at", exact=True).fill("09:30")
    expect(page.get_by_label("Move the organization along the pipeline")).to_be_checked()
    page.get_by_role("button", name="Log it").click()

    expect(page.get_by_role("status")).to_contain_text(
        "The tour was logged. Its next step is on the follow-up list."
    )
    assert page.url.startswith(organization_page)
    log = page.get_by_role("region", name="Outreach log")
    for attendee in (f"Maria Lopez {token}", f"Sam Okafor {token}", "Live Staff"):
        expect(log).to_contain_text(attendee)
    history = page.get_by_role("region", name="Stage history")
    expect(history).to_contain_text("Researched → Toured")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My follow-ups").click()
    this_week = page.get_by_role("region", name="This week")
    row = this_week.get_by_role("row").filter(has_text=next_step)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("9:30")

    row.get_by_role("link", name=next_step).click()
    expect(page.get_by_role("heading", name=next_step)).to_be_visible()
