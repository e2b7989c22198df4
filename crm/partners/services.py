"""Organizations: search, create, edit, delete. Every query here is workspace-scoped by the
tenancy listener; nothing in this module names a workspace."""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.partners.models import Organization, OrganizationKind, Stage, name_key
from crm.roles import JAIL_ROLES
from crm.web.pagination import Page, paginate
from crm.workspaces.models import Membership

NAME_MAX = 200
TEXT_MAX = 10_000


class InvalidInput(ValueError):
    """Field errors of a write; each message is safe to show next to its field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class OrganizationInput:
    name: str
    kind: OrganizationKind | str
    stage: Stage | str = Stage.IDENTIFIED
    mission: str = ""
    interests: str = ""
    owner: uuid.UUID | str | None = None  # public id of a staff or admin membership


def _clean(data: OrganizationInput) -> dict:
    errors: dict[str, str] = {}
    name = " ".join((data.name or "").split())
    if not name:
        errors["name"] = "Enter the organization's name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Use at most {NAME_MAX} characters."
    try:
        kind = OrganizationKind(data.kind)
    except ValueError:
        errors["kind"] = "Choose a kind from the list."
        kind = None
    try:
        stage = Stage(data.stage)
    except ValueError:
        errors["stage"] = "Choose a stage from the list."
        stage = None
    for name_, value in (("mission", data.mission), ("interests", data.interests)):
        if len(value or "") > TEXT_MAX:
            errors[name_] = f"Use at most {TEXT_MAX:,} characters."
    # PostgreSQL refuses NUL in text: say so here instead of failing at the flush.
    for name_, value in (("name", name), ("mission", data.mission), ("interests", data.interests)):
        if "\x00" in (value or ""):
            errors.setdefault(name_, "Remove the invisible NUL character from this text.")
    owner = None
    if data.owner:
        owner = find_owner(data.owner)
        if owner is None:
            errors["owner"] = "Choose an owner from the list."
    if errors:
        raise InvalidInput(errors)
    return {
        "name": name,
        "kind": kind,
        "stage": stage,
        "mission": (data.mission or "").strip(),
        "interests": (data.interests or "").strip(),
        "owner_id": owner.id if owner else None,
    }


def owner_choices() -> list[Membership]:
    """Staff and admins of the current workspace, who can own a relationship."""
    return list(
        db.session.execute(
            select(Membership).where(Membership.role.in_(JAIL_ROLES)).order_by(Membership.id)
        ).scalars()
    )


def find_owner(public_id: uuid.UUID | str) -> Membership | None:
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return db.session.execute(
        select(Membership).where(Membership.public_id == public_id, Membership.role.in_(JAIL_ROLES))
    ).scalar_one_or_none()


def search_organizations(
    *,
    query: str = "",
    kind: OrganizationKind | None = None,
    stage: Stage | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Organizations whose name starts with `query` (any case), filtered, sorted by name."""
    statement = select(Organization).order_by(Organization.name_key, Organization.id)
    prefix = name_key(query.replace("\x00", ""))  # no name holds NUL; PostgreSQL refuses it
    if prefix:
        # A range on the binary-collated key uses the (workspace_id, name_key) index on both
        # databases; LIKE would not on PostgreSQL without a special operator class.
        statement = statement.where(Organization.name_key >= prefix)
        upper = _after_prefix(prefix)
        if upper is not None:
            statement = statement.where(Organization.name_key < upper)
    if kind is not None:
        statement = statement.where(Organization.kind == kind)
    if stage is not None:
        statement = statement.where(Organization.stage == stage)
    return paginate(statement, page, per_page)


def _after_prefix(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix`, in code point order
    (which is the byte order of UTF-8 that both databases' binary collations use); None when
    there is none. Skips the surrogates, which no stored text can hold."""
    stripped = prefix.rstrip(chr(sys.maxunicode))
    if not stripped:
        return None
    following = ord(stripped[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:
        following = 0xE000
    return stripped[:-1] + chr(following)


def load_organization(public_id: uuid.UUID) -> Organization | None:
    return (
        db.session.execute(
            select(Organization)
            .where(Organization.public_id == public_id)
            .options(joinedload(Organization.owner).joinedload(Membership.user))
        )
        .unique()
        .scalar_one_or_none()
    )


def create_organization(data: OrganizationInput) -> Organization:
    organization = Organization(**_clean(data))
    db.session.add(organization)
    db.session.flush()
    return organization


def update_organization(organization: Organization, data: OrganizationInput) -> Organization:
    for key, value in _clean(data).items():
        setattr(organization, key, value)
    db.session.flush()
    return organization


class StillReferenced(ValueError):
    """A delete refused because other records need the organization; the message says which."""


def delete_organization(organization: Organization) -> None:
    partner_users = db.session.execute(
        select(func.count(Membership.id)).where(Membership.organization_id == organization.id)
    ).scalar_one()
    if partner_users:
        raise StillReferenced(
            f"{partner_users} partner user(s) belong to this organization: "
            "end their memberships first."
        )
    db.session.delete(organization)
    db.session.flush()
