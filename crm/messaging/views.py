"""The outbox page: a workspace admin sees the mail decided for their workspace and its fate.

No detail page: bodies stay out of the web app (the list says what was sent, to whom, and what
went wrong), and account emails, whose links open a person's account, never reach any page.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, render_template, request

from crm.messaging.forms import STATUS_LABELS, StatusFilterForm
from crm.messaging.models import MessageStatus
from crm.messaging.services import outbox_page
from crm.roles import Role
from crm.web.access import allow
from crm.web.pagination import page_number

bp = Blueprint("messaging", __name__, url_prefix="/outbox")


@bp.get("/")
@allow(Role.ADMIN)
def index():
    search = StatusFilterForm(request.args)
    valid = search.validate()
    status = MessageStatus(search.status.data) if valid and search.status.data else None
    page = outbox_page(status=status, page=page_number(), per_page=current_app.config["PAGE_SIZE"])
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "messaging/index.html",
        search=search,
        page=page,
        args=args,
        zone=ZoneInfo(g.membership.workspace.timezone),
        status_labels=STATUS_LABELS,
    )
