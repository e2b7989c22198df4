"""Who may reach which route, decided once per request before any view runs.

Every endpoint declares its audience: `@public` (login, static files), `@authenticated` (any
member: logout, switching workspace) or `@allow(Role.ADMIN, ...)`. `create_app` refuses to start
if an endpoint declares nothing, so a forgotten decorator cannot open a route. The request's
workspace comes from the logged-in user's membership, never from an id the client sends, and is
bound here for the tenancy listeners.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from crm import clock
from crm.audit.context import request_actor, reset_actor, set_actor
from crm.database import write_intent
from crm.extensions import db
from crm.roles import ROLES_WITHOUT_STAFF_FIELDS, Role
from crm.tenancy import Scope, bind_request_scope, reset_request_scope
from crm.workspaces.services import WorkspaceChoice, memberships_of, touch_last_active

PUBLIC = "public"
AUTHENTICATED = "authenticated"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def public(view: Callable) -> Callable:
    view.inreach_access = PUBLIC
    return view


def authenticated(view: Callable) -> Callable:
    view.inreach_access = AUTHENTICATED
    return view


def allow(*roles: Role) -> Callable[[Callable], Callable]:
    if not roles:
        raise ValueError("allow() needs at least one role")

    def decorate(view: Callable) -> Callable:
        view.inreach_access = frozenset(Role(r) for r in roles)
        return view

    return decorate


def access_of(app: Flask, endpoint: str) -> Any:
    if endpoint == "static" or endpoint.endswith(".static") or endpoint == "bootstrap.static":
        return PUBLIC
    view = app.view_functions[endpoint]
    return getattr(view, "inreach_access", None)


def check_declared(app: Flask) -> None:
    missing = [e for e in app.view_functions if access_of(app, e) is None]
    if missing:
        raise RuntimeError(f"endpoints without an access declaration: {sorted(missing)}")


def init_app(app: Flask) -> None:
    app.before_request(_enter_request)
    app.teardown_request(_leave_request)


def _enter_request():
    write_intent.set(request.method not in SAFE_METHODS)
    g.scope_token = bind_request_scope(None)
    g.actor_token = set_actor(request_actor())  # anonymous until a member is known
    g.membership = None
    if request.endpoint is None:
        return None  # no such route: 404/405 answers without a workspace
    access = access_of(current_app, request.endpoint)
    if access == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if session_expired():
        end_this_session()
        flash("Your session ended after a while without activity. Please log in again.", "info")
        return current_app.login_manager.unauthorized()
    membership = _current_membership(current_user.id)
    if membership is None:
        end_this_session()
        return redirect(url_for("auth.login"))
    g.membership = membership
    set_actor(request_actor(current_user))  # undone by resetting the first token
    reset_request_scope(g.scope_token)
    g.scope_token = bind_request_scope(
        Scope(
            workspace_id=membership.workspace_id,
            organization_id=membership.organization_id if membership.role is Role.PARTNER else None,
            hide_staff_only=membership.role in ROLES_WITHOUT_STAFF_FIELDS,
        )
    )
    if touch_last_active(membership):
        db.session.commit()
    if access != AUTHENTICATED and membership.role not in access:
        abort(403)
    return None


def start_session(user, workspace_id: int) -> None:
    """A fresh session after login: nothing carried over, the clock of its lifetime started."""
    session.clear()
    login_user(user)
    now = clock.now().timestamp()
    session["workspace_id"] = workspace_id
    session["issued_at"] = now
    session["seen_at"] = now


def session_expired() -> bool:
    """Idle for 30 minutes, or open for 12 hours (settings SESSION_IDLE_MINUTES and
    SESSION_ABSOLUTE_HOURS). Checked here because a cookie session cannot be revoked."""
    now = clock.now().timestamp()
    issued, seen = session.get("issued_at"), session.get("seen_at")
    config = current_app.config
    if not isinstance(issued, (int, float)) or not isinstance(seen, (int, float)):
        return True
    if now - issued > config["SESSION_ABSOLUTE_HOURS"] * 3600:
        return True
    if now - seen > config["SESSION_IDLE_MINUTES"] * 60:
        return True
    session["seen_at"] = now
    return False


def end_this_session() -> None:
    logout_user()
    session.clear()


def _current_membership(user_id: int):
    """The membership of the workspace chosen in this session. If that membership has ended,
    the session ends too: it never slides into another workspace unasked.

    One query per request: all the user's memberships, which the page header's workspace
    switcher lists as well (kept as plain values in `g.workspace_choices`)."""
    memberships = memberships_of(user_id)
    g.workspace_choices = [
        WorkspaceChoice(m.workspace.slug, m.workspace.name, m.role) for m in memberships
    ]
    workspace_id = session.get("workspace_id")
    if workspace_id:
        return next((m for m in memberships if m.workspace_id == workspace_id), None)
    if not memberships:
        return None
    session["workspace_id"] = memberships[0].workspace_id
    return memberships[0]


def _leave_request(_exc=None):
    token = g.pop("scope_token", None)
    if token is not None:
        reset_request_scope(token)
    actor_token = g.pop("actor_token", None)
    if actor_token is not None:
        reset_actor(actor_token)
    write_intent.set(False)


def current_membership():
    return g.get("membership")
