"""What every template can use: the current membership, the workspace switcher, labels."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, g
from flask_login import current_user

from crm.roles import Role
from crm.workspaces.services import workspace_choices


def local_time(moment: datetime | None, fmt: str = "%b %-d, %Y %H:%M") -> str:
    """A stored UTC time as the workspace's clock shows it (facility pages pass their own zone
    in later issues)."""
    if moment is None:
        return ""
    membership = g.get("membership")
    zone = ZoneInfo(membership.workspace.timezone) if membership else UTC
    return moment.astimezone(zone).strftime(fmt)


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")

    @app.context_processor
    def _layout():
        membership = g.get("membership")
        if membership is None or not current_user.is_authenticated:
            return {"membership": None, "my_workspaces": [], "Role": Role}
        choices = g.get("workspace_choices")  # loaded with the membership (crm/web/access.py)
        return {
            "membership": membership,
            "my_workspaces": workspace_choices(current_user.id) if choices is None else choices,
            "Role": Role,
        }
