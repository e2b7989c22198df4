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

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_login import current_user, logout_user

from crm.database import write_intent
from crm.roles import ROLES_WITHOUT_STAFF_FIELDS, Role
from crm.tenancy import Scope, bind_request_scope, reset_request_scope
from crm.workspaces.services import membership_in, memberships_of

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
    g.membership = None
    if request.endpoint is None:
        return None  # no such route: 404/405 answers without a workspace
    access = access_of(current_app, request.endpoint)
    if access == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    membership = _current_membership(current_user.id)
    if membership is None:
        logout_user()
        session.clear()
        return redirect(url_for("auth.login"))
    g.membership = membership
    reset_request_scope(g.scope_token)
    g.scope_token = bind_request_scope(
        Scope(
            workspace_id=membership.workspace_id,
            organization_id=membership.organization_id if membership.role is Role.PARTNER else None,
            hide_staff_only=membership.role in ROLES_WITHOUT_STAFF_FIELDS,
        )
    )
    if access != AUTHENTICATED and membership.role not in access:
        abort(403)
    return None


def _current_membership(user_id: int):
    """The membership of the workspace chosen in this session, else the user's first one."""
    workspace_id = session.get("workspace_id")
    membership = membership_in(user_id, workspace_id) if workspace_id else None
    if membership is None:
        memberships = memberships_of(user_id)
        if not memberships:
            return None
        membership = memberships[0]
        session["workspace_id"] = membership.workspace_id
    return membership


def _leave_request(_exc=None):
    token = g.pop("scope_token", None)
    if token is not None:
        reset_request_scope(token)
    write_intent.set(False)


def current_membership():
    return g.get("membership")
