"""Creating workspaces and memberships, and finding which workspaces a user belongs to."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select

from crm.auth.models import User
from crm.extensions import db
from crm.roles import Role
from crm.tenancy import all_workspaces, current_workspace_id
from crm.workspaces.models import Membership, Workspace


class WorkspaceError(ValueError):
    """Input that cannot make a workspace or membership; the message is safe to show."""


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:50] or "workspace"


def check_timezone(name: str) -> str:
    if name not in available_timezones():
        raise WorkspaceError(f"Unknown time zone {name!r}: use an IANA name like America/Chicago.")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError as exc:  # pragma: no cover - listed but not loadable
        raise WorkspaceError(f"Unknown time zone {name!r}.") from exc
    return name


def create_workspace(name: str, timezone: str) -> Workspace:
    """A new workspace with a unique slug derived from its name."""
    name = " ".join(name.split())
    if not name:
        raise WorkspaceError("A workspace needs a name.")
    if len(name) > 200:
        raise WorkspaceError("A workspace name has at most 200 characters.")
    check_timezone(timezone)
    base = slugify(name)
    taken = set(
        db.session.execute(select(Workspace.slug).where(Workspace.slug.like(f"{base}%"))).scalars()
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    workspace = Workspace(name=name, slug=slug, timezone=timezone)
    db.session.add(workspace)
    db.session.flush()
    return workspace


def find_workspace(slug: str) -> Workspace | None:
    return db.session.execute(select(Workspace).where(Workspace.slug == slug)).scalar_one_or_none()


def add_membership(user: User, role: Role, organization_id: int | None = None) -> Membership:
    """Give `user` a role in the current workspace; partners belong to one organization."""
    role = Role(role)
    if (role is Role.PARTNER) != (organization_id is not None):
        raise WorkspaceError("A partner user belongs to exactly one organization; others to none.")
    existing = db.session.execute(
        select(Membership).where(Membership.user_id == user.id)
    ).scalar_one_or_none()
    if existing is not None:
        raise WorkspaceError("This person is already a member of the workspace.")
    membership = Membership(
        workspace_id=current_workspace_id(),
        user_id=user.id,
        role=role,
        organization_id=organization_id,
    )
    db.session.add(membership)
    db.session.flush()
    return membership


def memberships_of(user_id: int) -> list[Membership]:
    """All workspaces of one user, for login and the workspace switcher.

    This is the one read across workspaces made on behalf of a request: it returns only the
    user's own memberships, ordered by workspace name.
    """
    with all_workspaces():
        return list(
            db.session.execute(
                select(Membership)
                .join(Membership.workspace)
                .where(Membership.user_id == user_id)
                .order_by(Workspace.name)
            ).scalars()
        )


@dataclass(frozen=True)
class WorkspaceChoice:
    slug: str
    name: str
    role: Role


def workspace_choices(user_id: int) -> list[WorkspaceChoice]:
    """The user's workspaces as plain values, for the switcher in the page header."""
    return [
        WorkspaceChoice(m.workspace.slug, m.workspace.name, m.role) for m in memberships_of(user_id)
    ]


def membership_in(user_id: int, workspace_id: int) -> Membership | None:
    with all_workspaces():
        return db.session.execute(
            select(Membership).where(
                Membership.user_id == user_id, Membership.workspace_id == workspace_id
            )
        ).scalar_one_or_none()
