"""What every template can use: the current membership, the workspace switcher, labels."""

from __future__ import annotations

from flask import Flask, g
from flask_login import current_user

from crm.roles import Role
from crm.workspaces.services import workspace_choices


def init_app(app: Flask) -> None:
    @app.context_processor
    def _layout():
        membership = g.get("membership")
        if membership is None or not current_user.is_authenticated:
            return {"membership": None, "my_workspaces": [], "Role": Role}
        return {
            "membership": membership,
            "my_workspaces": workspace_choices(current_user.id),
            "Role": Role,
        }
