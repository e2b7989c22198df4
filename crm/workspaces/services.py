"""Creating workspaces and memberships, and finding which workspaces a user belongs to."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm import clock
from crm.auth.models import User
from crm.extensions import db
from crm.roles import Role
from crm.tenancy import all_workspaces, current_workspace_id
from crm.workspaces.models import Invitation, Membership, Workspace


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


# --- members and invitations ----------------------------------------------------------------

INVITATION_LIFETIME = timedelta(hours=72)
ACTIVITY_GRANULARITY = timedelta(minutes=5)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt="inreach-invitation")


def members() -> list[Membership]:
    """The current workspace's members with their accounts and organizations, by name."""
    return list(
        db.session.execute(
            select(Membership)
            .join(Membership.user)
            .options(selectinload(Membership.organization))
            .order_by(User.name, User.email)
        ).scalars()
    )


def pending_invitations() -> list[Invitation]:
    return list(
        db.session.execute(
            select(Invitation)
            .where(
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > clock.now(),
            )
            .options(selectinload(Invitation.organization))
            .order_by(Invitation.created_at.desc())
        ).scalars()
    )


def find_membership(public_id) -> Membership | None:
    return db.session.execute(
        select(Membership).where(Membership.public_id == public_id)
    ).scalar_one_or_none()


def _partner_organization(role: Role, organization_public_id) -> int | None:
    from crm.partners.models import Organization

    if role is not Role.PARTNER:
        return None
    organization = None
    if organization_public_id:
        try:
            organization = db.session.execute(
                select(Organization).where(
                    Organization.public_id == uuid.UUID(str(organization_public_id))
                )
            ).scalar_one_or_none()
        except ValueError:
            organization = None
    if organization is None:
        raise WorkspaceError("Choose the partner's organization.")
    return organization.id


def invite_member(
    email: str,
    role: Role | str,
    *,
    organization: str | None,
    invited_by: Membership,
    workspace: Workspace,
    base_url: str,
    secret_key: str,
) -> Invitation:
    """Invite someone by email (72 h link). The answer is the same whether or not the address
    already has an account, so nothing is told about other workspaces."""
    from crm.auth.services import AccountError, check_email
    from crm.messaging.services import queue_message

    try:
        email = check_email(email)
    except AccountError as error:
        raise WorkspaceError(str(error)) from None
    try:
        role = Role(role)
    except ValueError:
        raise WorkspaceError("Choose a role from the list.") from None
    organization_id = _partner_organization(role, organization)
    already = db.session.execute(
        select(Membership.id).join(Membership.user).where(User.email == email)
    ).first()
    if already is not None:
        raise WorkspaceError("This person is already a member of the workspace.")
    secret = secrets.token_urlsafe(24)
    invitation = Invitation(
        email=email,
        role=role,
        organization_id=organization_id,
        invited_by_id=invited_by.id,
        secret_hash=_digest(secret),
        expires_at=clock.now() + INVITATION_LIFETIME,
    )
    db.session.add(invitation)
    db.session.flush()
    token = _serializer(secret_key).dumps([workspace.id, str(invitation.public_id), secret])
    link = f"{base_url.rstrip('/')}/invitations/{token}"
    inviter = invited_by.user.name or invited_by.user.email
    queue_message(
        kind="invitation",
        idempotency_key=f"invitation:{invitation.public_id}",
        recipient=email,
        subject=f"Invitation to {workspace.name} on Inreach",
        body=(
            f"{inviter} invites you to work with {workspace.name} on Inreach, "
            f"as {role.label.lower()}.\n\n"
            f"Accept within 72 hours:\n{link}\n\n"
            "If you did not expect this, ignore this email.\n"
        ),
    )
    return invitation


def open_invitation(token: str, secret_key: str) -> tuple[int, uuid.UUID] | None:
    """(workspace id, invitation public id) of a well-signed link, else None. The caller
    then enters that workspace and calls `usable_invitation`."""
    try:
        workspace_id, public_id, secret = _serializer(secret_key).loads(token)
        return int(workspace_id), uuid.UUID(public_id), secret
    except (BadSignature, ValueError, TypeError):
        return None


def usable_invitation(public_id: uuid.UUID, secret: str) -> Invitation | None:
    """The invitation of the current workspace behind a link, if it can still be accepted."""
    invitation = db.session.execute(
        select(Invitation)
        .where(Invitation.public_id == public_id)
        .options(selectinload(Invitation.organization))
    ).scalar_one_or_none()
    if (
        invitation is None
        or not hmac.compare_digest(invitation.secret_hash, _digest(secret))
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= clock.now()
    ):
        return None
    return invitation


def accept_invitation(invitation: Invitation, user: User) -> Membership:
    """Add the membership the invitation offers to `user` (new or existing account)."""
    from crm.auth.services import normalize_email

    if normalize_email(user.email) != invitation.email:
        raise WorkspaceError("This invitation was sent to another address.")
    membership = add_membership(user, invitation.role, invitation.organization_id)
    invitation.accepted_at = clock.now()
    db.session.flush()
    return membership


def revoke_invitation(invitation: Invitation) -> None:
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = clock.now()
        db.session.flush()


def _other_admins(membership: Membership) -> int:
    return db.session.execute(
        select(func.count(Membership.id)).where(
            Membership.role == Role.ADMIN, Membership.id != membership.id
        )
    ).scalar_one()


def change_role(membership: Membership, role: Role | str, organization: str | None = None) -> None:
    try:
        role = Role(role)
    except ValueError:
        raise WorkspaceError("Choose a role from the list.") from None
    if membership.role is Role.ADMIN and role is not Role.ADMIN and not _other_admins(membership):
        raise WorkspaceError("A workspace keeps at least one admin.")
    organization_id = _partner_organization(role, organization)
    if membership.role is not role or membership.organization_id != organization_id:
        membership.role = role
        membership.organization_id = organization_id
        # a changed role takes effect now: sessions opened with the old one end
        end_workspace_sessions(membership)
    db.session.flush()


def end_membership(membership: Membership, *, by: Membership) -> None:
    """Remove someone from the workspace; their open sessions here end on their next request."""
    if membership.id == by.id:
        raise WorkspaceError("You cannot end your own membership.")
    if membership.role is Role.ADMIN and not _other_admins(membership):
        raise WorkspaceError("A workspace keeps at least one admin.")
    db.session.delete(membership)
    db.session.flush()


def end_workspace_sessions(membership: Membership) -> None:
    from crm.auth.services import end_sessions

    end_sessions(db.session.get(User, membership.user_id))


def touch_last_active(membership: Membership) -> bool:
    """Record activity in this workspace, at most every five minutes (not a write per page)."""
    now = clock.now()
    if membership.last_active_at and now - membership.last_active_at < ACTIVITY_GRANULARITY:
        return False
    membership.last_active_at = now
    db.session.flush()
    return True
