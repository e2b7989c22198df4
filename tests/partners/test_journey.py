"""Journey 1, the organization side (JOURNEYS.md): "She starts outreach on one in a click: the
organization moves to 'researched', she writes what she learned of its mission and clients,
and a follow-up 'call the director' lands on her list for Wednesday." """

from __future__ import annotations

import html
import re
from datetime import date, timedelta

from crm import clock
from crm.partners.models import Organization


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def next_wednesday(today: date) -> date:
    return today + timedelta(days=(2 - today.weekday()) % 7 or 7)


def test_dana_starts_outreach_writes_what_she_learned_and_plans_the_call(app, world, login):
    dana = login(world.a.admin)
    org_y = world.a.other_org[Organization]

    # the pipeline shows the organization as identified, with its one-click start
    board = dana.get("/partners/pipeline").get_data(as_text=True)
    assert 'Start outreach<span class="visually-hidden">: A Other Org Y</span>' in board

    # one click
    response = dana.post(
        f"/partners/{org_y}/stage",
        {"stage": "researched", "from_stage": "identified", "return_to": "show"},
    )
    page = dana.get(response.location)
    assert "A Other Org Y moved to Researched." in text_of(page)

    # what she learned
    form = dana.get(f"/partners/{org_y}/edit")
    assert form.status_code == 200
    response = dana.post(
        f"/partners/{org_y}/edit",
        {
            "name": "A Other Org Y",
            "kind": "faith_based",
            "stage": "researched",
            "mission": "Parenting classes and supervised visits.",
            "clients_served": "Mothers working toward reunification.",
            "interests": "Director wants to see Unit F first.",
            "owner": str(world.a.admin.membership_public_id),
        },
    )
    assert response.status_code == 302
    page = text_of(dana.get(response.location))
    for learned in (
        "Parenting classes and supervised visits.",
        "Mothers working toward reunification.",
        "Director wants to see Unit F first.",
        "Identified → Researched",
    ):
        assert learned in page

    # the follow-up, from the organization's own page
    body = dana.get(f"/partners/{org_y}").get_data(as_text=True)
    link = re.search(r'href="([^"]+)">Add a follow-up</a>', body)
    if "followups.new" not in app.view_functions:  # the follow-up pages came later
        assert link is None
        return
    url = html.unescape(link.group(1))
    assert dana.get(url).status_code == 200
    wednesday = next_wednesday(clock.now().date())
    response = dana.post(
        url,
        {
            "title": "Call the director",
            "assignee": str(world.a.admin.membership_public_id),
            "due_date": wednesday.isoformat(),
            "due_time": "09:00",
            "cadence": "",
        },
    )
    assert response.status_code == 302, text_of(response)[:2000]
    page = text_of(dana.get(f"/partners/{org_y}"))
    assert "Call the director" in page
    assert wednesday.strftime("%b %-d, %Y") + " 09:00" in page
