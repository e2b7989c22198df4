"""The audit log's API beyond the automatic record of writes (crm/audit/recorder.py): audited
reads and exports, and the admins' search. Scoped like every query: nothing here names a
workspace, except that events are stamped with the one of the record they are about.

An audited read is a write: a GET view that calls `record_read` must commit afterwards, and on
SQLite should declare its write intent before its first query (crm.database.write_intent), so its
transaction begins with the write lock instead of failing to upgrade to it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from crm.audit.models import AuditEvent
from crm.audit.recorder import new_event, record_label
from crm.extensions import db
from crm.tenancy import WorkspaceScoped, current_workspace_id
from crm.web.pagination import Page, paginate
from crm.workspaces.models import Membership

ACTIONS = ("create", "update", "delete", "read", "export")
WRITE_ACTIONS = frozenset({"create", "update", "delete"})


def record_read(record: WorkspaceScoped, what: dict | None = None) -> AuditEvent:
    """Log that the current actor read `record` (a roster, a call-out list); `what` says what
    was shown, e.g. {"rows": 12}. Never put names of people in custody in it."""
    event = new_event(
        workspace_id=record.workspace_id,
        action="read",
        record_type=type(record).__name__,
        record_id=record.public_id,
        record_label=record_label(record),
        changes=what,
    )
    db.session.add(event)
    db.session.flush()
    return event


def record_export(record_type: str, what: dict | None = None) -> AuditEvent:
    """Log that the current actor exported records of a kind, e.g.
    record_export("Organization", {"format": "csv", "rows": 120, "filters": {...}})."""
    event = new_event(
        workspace_id=current_workspace_id(),
        action="export",
        record_type=record_type,
        changes=what,
    )
    db.session.add(event)
    db.session.flush()
    return event


def search_events(
    *,
    action: str | None = None,
    record_type: str | None = None,
    record_id: uuid.UUID | None = None,
    actor_id: int | None = None,
    without_user: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """The current workspace's events, newest first; `until` is exclusive; `without_user`
    keeps only the system's and anonymous visitors' events. Served by the (workspace_id, at)
    index, or (workspace_id, actor_id, at) with an actor."""
    statement = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if action:
        statement = statement.where(AuditEvent.action == action)
    if record_type:
        statement = statement.where(AuditEvent.record_type == record_type)
    if record_id is not None:
        statement = statement.where(AuditEvent.record_id == record_id)
    if actor_id is not None:
        statement = statement.where(AuditEvent.actor_id == actor_id)
    elif without_user:
        statement = statement.where(AuditEvent.actor_id.is_(None))
    if since is not None:
        statement = statement.where(AuditEvent.at >= since)
    if until is not None:
        statement = statement.where(AuditEvent.at < until)
    return paginate(statement, page, per_page)


def record_types() -> list[str]:
    """The kinds of record the log can name: every workspace model but the log itself."""
    return sorted(
        m.class_.__name__
        for m in db.Model.registry.mappers
        if issubclass(m.class_, WorkspaceScoped) and m.class_ is not AuditEvent
    )


def actor_choices() -> list[Membership]:
    """Members of the current workspace with their accounts, by email, for the "who" filter.
    Every role is listed: partners change their own records, and reads are audited too."""
    memberships = db.session.execute(select(Membership)).scalars().all()
    return sorted(memberships, key=lambda m: m.user.email)


def find_member(public_id: uuid.UUID | str) -> Membership | None:
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return db.session.execute(
        select(Membership).where(Membership.public_id == public_id)
    ).scalar_one_or_none()
