"""The audit log page: admins browse and filter what happened in their workspace."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, render_template, request
from wtforms.fields.choices import SelectChoice

from crm.audit.forms import ACTION_LABELS, NO_USER, AuditFilterForm
from crm.audit.services import (
    WRITE_ACTIONS,
    actor_choices,
    record_types,
    search_events,
)
from crm.roles import Role
from crm.web.access import allow
from crm.web.pagination import page_number

bp = Blueprint("audit", __name__, url_prefix="/audit")

VALUE_MAX = 80


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of `day` in the workspace's zone, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def shown(value) -> str:
    """A recorded value as the table shows it: empty as a dash, long text cut short."""
    if value is None or value == "":
        return "—"
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


@bp.get("/")
@allow(Role.ADMIN)
def index():
    zone = ZoneInfo(g.membership.workspace.timezone)
    members = actor_choices()
    form = AuditFilterForm(request.args)
    form.record_type.choices = [SelectChoice("", "All records")] + [
        SelectChoice(name, name) for name in record_types()
    ]
    form.actor.choices = [
        SelectChoice("", "Anyone"),
        SelectChoice(NO_USER, "System or anonymous"),
    ] + [SelectChoice(str(m.public_id), m.user.email) for m in members]
    valid = form.validate()
    filters: dict = {}
    if valid:
        actor = form.actor.data
        by_public_id = {str(m.public_id): m for m in members}
        filters = {
            "action": form.action.data or None,
            "record_type": form.record_type.data or None,
            "actor_id": by_public_id[actor].user_id if actor in by_public_id else None,
            "without_user": actor == NO_USER,
            "since": _start_of(form.since.data, zone) if form.since.data else None,
            "until": (
                _start_of(form.until.data + timedelta(days=1), zone) if form.until.data else None
            ),
        }
    page = search_events(**filters, page=page_number(), per_page=current_app.config["PAGE_SIZE"])
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "audit/index.html",
        form=form,
        page=page,
        args=args,
        zone=zone,
        action_labels=ACTION_LABELS,
        write_actions=WRITE_ACTIONS,
        shown=shown,
    )
