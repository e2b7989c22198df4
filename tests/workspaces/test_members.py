"""Admins invite, change roles and end memberships; invitation links are one-use, 72 h,
tamper-proof and bound to their workspace; nothing is told about other workspaces."""

from datetime import UTC, datetime

from sqlalchemy import select

from crm import clock
from crm.extensions import db
from crm.roles import Role
from crm.tenancy import workspace_context
from crm.workspaces.models import Membership
from tests.auth.helpers import emails_to, link_in
from tests.conftest import Client

PASSWORD = "lanterns on the river"


def invite(admin: Client, email: str, role: str = "staff", organization: str = ""):
    return admin.post(
        "/workspaces/members/invite", {"email": email, "role": role, "organization": organization}
    )


def accept_as_new(app, link: str, name: str = "New Person"):
    return Client(app).post(link, {"name": name, "password": PASSWORD, "confirm": PASSWORD})


def member_roles(app, workspace_id: int) -> dict[int, Role]:
    with app.app_context(), workspace_context(workspace_id):
        rows = db.session.execute(select(Membership.user_id, Membership.role)).all()
    return dict(rows)


def test_an_invited_person_joins_with_a_new_account(app, world, login):
    admin = login(world.a.admin)
    response = invite(admin, "New.Person@Example.org")
    assert response.status_code == 302
    page = admin.get("/workspaces/members").get_data(as_text=True)
    assert "new.person@example.org" in page
    [email] = emails_to(app, "new.person@example.org", "invitation")
    link = link_in(email)
    assert link.rsplit("/", 1)[1] not in page  # the link is never shown on a page
    response = accept_as_new(app, link)
    assert response.status_code == 302
    newcomer = Client(app)
    assert (
        newcomer.post(
            "/login", {"email": "new.person@example.org", "password": PASSWORD}
        ).status_code
        == 302
    )
    assert "Workspace A County" in newcomer.get("/partners/").get_data(as_text=True)


def test_an_existing_account_joins_with_its_own_password(app, world, login):
    admin = login(world.a.admin)
    assert invite(admin, world.b.staff.email).status_code == 302
    link = link_in(emails_to(app, world.b.staff.email, "invitation")[-1])
    form = Client(app).get(link).get_data(as_text=True)
    assert "Choose your name" not in form
    wrong = Client(app).post(link, {"password": "not it"})
    assert wrong.status_code == 422
    response = Client(app).post(link, {"password": world.b.staff.password})
    assert response.status_code == 302
    assert member_roles(app, world.a.id)[world.b.staff.user_id] is Role.STAFF
    assert member_roles(app, world.b.id)[world.b.staff.user_id] is Role.STAFF


def test_inviting_says_nothing_about_other_workspaces(app, world, login):
    admin = login(world.a.admin)
    someone_elsewhere = invite(admin, world.b.viewer.email)
    first = admin.get(someone_elsewhere.location).get_data(as_text=True)
    nobody_yet = invite(admin, "fresh@example.org")
    second = admin.get(nobody_yet.location).get_data(as_text=True)
    assert someone_elsewhere.status_code == nobody_yet.status_code == 302
    assert first.replace(world.b.viewer.email, "X").count("Invitation sent to X") == 1
    assert second.replace("fresh@example.org", "X").count("Invitation sent to X") == 1


def test_inviting_a_current_member_is_refused_with_the_input_kept(app, world, login):
    response = invite(login(world.a.admin), world.a.staff.email)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "already a member" in text
    assert f'value="{world.a.staff.email}"' in text


def test_a_partner_invitation_needs_an_organization_of_this_workspace(app, world, login):
    admin = login(world.a.admin)
    response = invite(admin, "p@example.org", "partner", str(world.b.own[type_org()]))
    assert response.status_code == 422
    assert "organization" in response.get_data(as_text=True)
    response = invite(admin, "p@example.org", "partner", str(world.a.own[type_org()]))
    assert response.status_code == 302


def type_org():
    from crm.partners.models import Organization

    return Organization


def test_an_invitation_link_works_once(app, world, login):
    invite(login(world.a.admin), "once@example.org")
    link = link_in(emails_to(app, "once@example.org", "invitation")[-1])
    assert accept_as_new(app, link).status_code == 302
    again = accept_as_new(app, link, "Someone Else")
    assert again.status_code == 404
    assert "no longer works" in again.get_data(as_text=True)


def test_an_invitation_link_expires_after_72_hours(app, world, login):
    with clock.frozen(datetime(2026, 6, 1, 8, 0, tzinfo=UTC)) as travel:
        invite(login(world.a.admin), "late@example.org")
        link = link_in(emails_to(app, "late@example.org", "invitation")[-1])
        travel.forward(hours=71, minutes=59)
        assert Client(app).get(link).status_code == 200
        travel.forward(minutes=2)
        assert accept_as_new(app, link).status_code == 404


def test_a_tampered_invitation_link_is_refused(app, world, login):
    invite(login(world.a.admin), "tamper@example.org")
    link = link_in(emails_to(app, "tamper@example.org", "invitation")[-1])
    token = link.rsplit("/", 1)[1]
    payload, signature = token.rsplit(".", 1)
    for bad in (payload + "." + signature[::-1], payload[:-2] + "xx." + signature, "garbage"):
        assert Client(app).get(f"/invitations/{bad}").status_code == 404


def test_an_invitation_link_cannot_be_used_for_another_workspace(app, world, login):
    """A link names its workspace inside the signature: pointing it at B finds nothing."""
    from crm.workspaces.services import _serializer, open_invitation

    invite(login(world.a.admin), "moved@example.org")
    link = link_in(emails_to(app, "moved@example.org", "invitation")[-1])
    secret_key = app.config["SECRET_KEY"]
    workspace_id, public_id, secret = open_invitation(link.rsplit("/", 1)[1], secret_key)
    assert workspace_id == world.a.id
    forged = _serializer(secret_key).dumps([world.b.id, str(public_id), secret])
    assert Client(app).get(f"/invitations/{forged}").status_code == 404
    other_key = _serializer("not the key").dumps([world.a.id, str(public_id), secret])
    assert Client(app).get(f"/invitations/{other_key}").status_code == 404


def test_a_withdrawn_invitation_no_longer_works(app, world, login):
    admin = login(world.a.admin)
    invite(admin, "withdrawn@example.org")
    link = link_in(emails_to(app, "withdrawn@example.org", "invitation")[-1])
    from crm.workspaces.models import Invitation

    with app.app_context(), workspace_context(world.a.id):
        public_id = db.session.execute(
            select(Invitation.public_id).where(Invitation.email == "withdrawn@example.org")
        ).scalar_one()
    assert admin.post(f"/workspaces/invitations/{public_id}/revoke").status_code == 302
    assert Client(app).get(link).status_code == 404


def test_admins_change_roles_and_the_change_takes_effect(app, world, login):
    staff = login(world.a.staff)
    admin = login(world.a.admin)
    response = admin.post(
        f"/workspaces/members/{world.a.staff.membership_public_id}/role", {"role": "viewer"}
    )
    assert response.status_code == 302
    assert member_roles(app, world.a.id)[world.a.staff.user_id] is Role.VIEWER
    assert staff.get("/partners/new").status_code == 302  # logged out: the old role is gone
    again = Client(app).login(world.a.staff)
    assert again.get("/partners/new").status_code == 403


def test_the_last_admin_cannot_be_demoted_or_removed(app, world, login):
    admin = login(world.a.admin)
    response = admin.post(
        f"/workspaces/members/{world.a.admin.membership_public_id}/role", {"role": "staff"}
    )
    assert "at least one admin" in admin.get(response.location).get_data(as_text=True)
    assert member_roles(app, world.a.id)[world.a.admin.user_id] is Role.ADMIN


def test_last_active_shows_activity_in_this_workspace_only(app, world, login):
    with app.app_context(), workspace_context(world.b.id):
        db.session.add(Membership(user_id=world.a.viewer.user_id, role=Role.STAFF))
        db.session.commit()
    with clock.frozen(datetime(2026, 7, 1, 15, 0, tzinfo=UTC)) as travel:
        client = Client(app).login(world.a.viewer)
        client.get("/partners/")  # active in A at 15:00 UTC
        client.post("/workspaces/switch", {"workspace": world.b.slug})
        travel.forward(minutes=20)
        client.get("/partners/")  # then only in B, at 15:20
    page = login(world.a.admin).get("/workspaces/members").get_data(as_text=True)
    row = page.split(f"<td>{world.a.viewer.email}</td>")[1].split("</tr>")[0]
    assert "<td>Jul 1, 2026 10:00</td>" in row  # 15:00 UTC in America/Chicago
    assert ":20</td>" not in row  # B's activity is not A's business
    page_b = login(world.b.admin).get("/workspaces/members").get_data(as_text=True)
    row_b = page_b.split(f"<td>{world.a.viewer.email}</td>")[1].split("</tr>")[0]
    assert "<td>Jul 1, 2026 11:20</td>" in row_b  # 15:20 UTC in America/New_York


def test_the_members_page_is_for_admins_only(app, world, login):
    for member in (world.a.staff, world.a.partner, world.a.viewer):
        assert login(member).get("/workspaces/members").status_code == 403
