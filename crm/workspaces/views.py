"""Switching between the workspaces a user belongs to."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_login import current_user

from crm.web.access import authenticated
from crm.workspaces.services import find_workspace, membership_in

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
