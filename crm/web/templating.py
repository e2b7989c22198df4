"""What every template can use: the current membership, the workspace switcher, labels."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, g, url_for
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


_PLACEHOLDER = str(uuid.UUID(int=0))


def url_pattern(endpoint: str, key: str, **values) -> str:
    """The URL of `endpoint` with `{}` where the public id `key` goes, for a link repeated on
    every row of a long table: `pattern.format(row.public_id)` costs a fraction of `url_for`,
    which a 100-row page with three links a row would call 300 times."""
    return url_for(endpoint, **{key: _PLACEHOLDER}, **values).replace(_PLACEHOLDER, "{}")


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_global(url_pattern, "url_pattern")

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
