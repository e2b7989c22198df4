"""The user's notification settings page: which emails Inreach sends this person, and why.

Every reminder email links here. For now the page explains; preferences per kind of email and
digests come next, on this same page.
"""

from __future__ import annotations

from flask import Blueprint, g, render_template
from flask_login import current_user

from crm.messaging.delivery import is_suppressed
from crm.roles import JAIL_ROLES, Role
from crm.web.access import authenticated

bp = Blueprint("notifications", __name__)


@bp.get("/account/notifications")
@authenticated
def index():
    membership = g.membership
    return render_template(
        "messaging/notifications.html",
        workspace=membership.workspace,
        assignable=membership.role in JAIL_ROLES,
        is_admin=membership.role is Role.ADMIN,
        suppressed=is_suppressed(current_user.email),
    )
