"""GET /account/notifications: which emails Inreach sends this person (every reminder links
here); preferences per kind and digests come next."""

from __future__ import annotations

import pytest

from crm.auth.models import SuppressedAddress
from crm.extensions import db
from crm.roles import Role


def page(login, member) -> str:
    response = login(member).get("/account/notifications")
    assert response.status_code == 200
    return " ".join(response.get_data(as_text=True).split())  # whitespace as a reader sees it


def test_an_admin_reads_every_kind_they_receive(login, world):
    html = page(login, world.a.admin)
    assert "Your notifications" in html
    assert world.a.admin.email in html
    assert f"Follow-up reminders in {world.a.name}" in html
    assert "<strong>Due</strong>" in html and "<strong>Overdue</strong>" in html
    assert "still open 2 working days after its due date" in html  # the workspace's settings
    assert "You receive these about your colleagues" in html  # escalations
    assert "<strong>Invitations</strong>" in html and "<strong>Password resets</strong>" in html
    assert "a daily digest instead of single emails" in html
    assert "come next" in html
    assert world.b.name not in html
    assert "bounced" not in html


def test_staff_receive_reminders_but_not_escalations(login, world):
    html = page(login, world.a.staff)
    assert "<strong>Due</strong>" in html
    assert "Only administrators receive these." in html


@pytest.mark.parametrize("role", [Role.PARTNER, Role.VIEWER])
def test_partners_and_viewers_receive_no_reminders(login, world, role):
    html = page(login, world.a.members[role])
    assert "you receive no reminders in this workspace" in html
    assert "<strong>Password resets</strong>" in html


def test_a_bounced_address_is_shown(app, login, world):
    with app.app_context():
        db.session.add(SuppressedAddress(email=world.a.staff.email, reason="550 5.1.1"))
        db.session.commit()
    assert "Mail to this address bounced" in page(login, world.a.staff)


def test_logged_out_it_asks_for_a_login(client):
    response = client.get("/account/notifications")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
