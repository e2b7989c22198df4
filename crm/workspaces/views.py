"""Members of a workspace (invite, change role, end membership) and switching workspace."""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from crm.extensions import db
from crm.roles import Role
from crm.tenancy import get_or_404
from crm.web.access import allow, authenticated
from crm.workspaces.forms import InviteForm, RoleForm, organization_choices
from crm.workspaces.models import Invitation, Membership
from crm.workspaces.services import (
    WorkspaceError,
    change_role,
    end_membership,
    find_workspace,
    invite_member,
    membership_in,
    pending_invitations,
    revoke_invitation,
)
from crm.workspaces.services import (
    members as list_members,
)

bp = Blueprint("workspaces", __name__, url_prefix="/workspaces")


@bp.post("/switch")
@authenticated
def switch():
    workspace = find_workspace(request.form.get("workspace", ""))
    # Not a member and no such workspace answer alike: nothing about other workspaces leaks.
    membership = membership_in(current_user.id, workspace.id) if workspace else None
    if membership is None:
        abort(404)
    session["workspace_id"] = workspace.id
    flash(f"You are now working in {workspace.name}.", "info")
    return redirect(url_for("home"))


def _render_members(invite: InviteForm, status: int = 200):
    choices = organization_choices()
    invite.organization.choices = choices
    return render_template(
        "workspaces/members.html",
        members=list_members(),
        invitations=pending_invitations(),
        invite=invite,
        organization_choices=choices,
        role_form=RoleForm(),
        Role=Role,
    ), status


@bp.get("/members")
@allow(Role.ADMIN)
def members():
    return _render_members(InviteForm())


@bp.post("/members/invite")
@allow(Role.ADMIN)
def invite():
    form = InviteForm()
    form.organization.choices = organization_choices()
    if form.validate_on_submit():
        try:
            invite_member(
                form.email.data,
                form.role.data,
                organization=form.organization.data or None,
                invited_by=g.membership,
                workspace=g.membership.workspace,
                base_url=current_app.config["BASE_URL"],
                secret_key=current_app.config["SECRET_KEY"],
            )
        except WorkspaceError as error:
            db.session.rollback()
            target = form.organization if "organization" in str(error) else form.email
            target.errors = [str(error)]
        else:
            db.session.commit()
            flash(f"Invitation sent to {form.email.data.strip().lower()}.", "success")
            return redirect(url_for(".members"))
    return _render_members(form, 422)


@bp.post("/members/<uuid:membership_id>/role")
@allow(Role.ADMIN)
def role(membership_id: uuid.UUID):
    membership = get_or_404(Membership, membership_id)
    form = RoleForm()
    form.organization.choices = organization_choices()
    if form.validate_on_submit():
        try:
            change_role(membership, form.role.data, form.organization.data or None)
        except WorkspaceError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash("The role was changed; that person logs in again to use it.", "success")
    else:
        flash("Choose a role from the list.", "danger")
    return redirect(url_for(".members"))


@bp.post("/members/<uuid:membership_id>/end")
@allow(Role.ADMIN)
def end(membership_id: uuid.UUID):
    membership = get_or_404(Membership, membership_id)
    try:
        end_membership(membership, by=g.membership)
    except WorkspaceError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash("The membership was ended.", "success")
    return redirect(url_for(".members"))


@bp.post("/invitations/<uuid:invitation_id>/revoke")
@allow(Role.ADMIN)
def revoke(invitation_id: uuid.UUID):
    invitation = get_or_404(Invitation, invitation_id)
    revoke_invitation(invitation)
    db.session.commit()
    flash("The invitation was withdrawn; its link no longer works.", "success")
    return redirect(url_for(".members"))
