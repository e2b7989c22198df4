"""The audit log's one writer of changes: a `before_flush` listener on the application's session.

Every new, changed or deleted workspace record gets an AuditEvent in the same flush, so no view,
service or task can forget it, and the event commits or rolls back with the change itself:
who (crm/audit/context.py), when, what (record type, public id, name), which fields with their
old and new values, and from where (ip, browser). Records of no workspace (account emails) are
not audited.

The log is append-only. The application has no path that changes or deletes an AuditEvent: the
flush refuses a dirty or deleted one, `do_orm_execute` refuses UPDATE and DELETE statements on
the table, and the database's triggers (migration 0002) refuse whatever gets past (raw SQL).

What the session cannot see is not recorded here: ORM bulk UPDATE/DELETE of other models (no
objects, no old values) and rows removed by the database's own ON DELETE CASCADE.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from flask import Flask
from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper, ORMExecuteState
from sqlalchemy.orm.interfaces import MANYTOONE

from crm import clock
from crm.audit.context import current_actor
from crm.audit.models import AuditEvent
from crm.database import new_public_id
from crm.tenancy import ScopedSession, WorkspaceScoped

# Bookkeeping, not content: never listed as changed fields.
NEVER_AUDITED = frozenset({"id", "public_id", "workspace_id", "created_at", "updated_at"})
LABEL_MAX = 200


class AuditLogIsAppendOnly(RuntimeError):
    """Something tried to change or delete an audit event."""


def init_app(app: Flask) -> None:
    """Install the listeners (once per process: they hang on the session class, not the app)."""
    _install()


_installed = False


def _install() -> None:
    global _installed
    if _installed:
        return
    # Registered after crm.tenancy's own before_flush (imported first), so new records are
    # already stamped with their workspace and public id when they are recorded here.
    event.listen(ScopedSession, "before_flush", _record_changes)
    # First in line, so the refusal is the same with or without a workspace bound.
    event.listen(ScopedSession, "do_orm_execute", _refuse_bulk_changes, insert=True)
    event.listen(WorkspaceScoped, "after_mapper_constructed", _keep_old_values, propagate=True)
    from crm.extensions import db

    for mapper in list(db.Model.registry.mappers):
        if issubclass(mapper.class_, WorkspaceScoped):
            _keep_old_values(mapper, mapper.class_)
    _installed = True


# --- which fields, and their values --------------------------------------------------------

_audited_keys: dict[type, tuple[str, ...]] = {}
_tracked: set[type] = set()


def audited_keys(cls: type) -> tuple[str, ...]:
    """The column attributes of a model whose changes the log records."""
    keys = _audited_keys.get(cls)
    if keys is None:
        skipped = NEVER_AUDITED | set(getattr(cls, "__audit_exclude__", ()))
        keys = tuple(p.key for p in inspect(cls).column_attrs if p.key not in skipped)
        _audited_keys[cls] = keys
    return keys


def _keep_old_values(mapper: Mapper, cls: type) -> None:
    """Make every audited attribute remember its old value, even when it was expired (after a
    commit) at the moment it is set: otherwise the flush would know only the new one."""
    if cls in _tracked or cls is AuditEvent or not issubclass(cls, WorkspaceScoped):
        return
    _tracked.add(cls)
    skipped = NEVER_AUDITED | set(getattr(cls, "__audit_exclude__", ()))
    for prop in mapper.column_attrs:
        if prop.key not in skipped:
            event.listen(getattr(cls, prop.key), "set", _noop, active_history=True)


def _noop(*_args: Any) -> None:
    return None


def json_safe(value: Any) -> Any:
    """A value as JSON can keep it: enums by value, times in ISO 8601, ids as strings."""
    if isinstance(value, Enum):
        return json_safe(value.value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    return str(value)


def record_label(obj: Any) -> str:
    """How the log names a record besides its public id: its `audit_label()`, else its name."""
    label = obj.audit_label() if hasattr(obj, "audit_label") else getattr(obj, "name", "")
    return label[:LABEL_MAX] if isinstance(label, str) else ""


def _created(obj: Any) -> dict:
    state = inspect(obj)
    changes = {}
    for key in audited_keys(type(obj)):
        value = state.dict.get(key)
        if value is None:
            # a scalar column default is applied by the INSERT itself: show it now
            column = state.mapper.columns[key]
            default = column.default
            if default is not None and default.is_scalar:
                value = default.arg
        if value is not None:
            changes[key] = [None, json_safe(value)]
    _add_references_set(state, changes)
    return changes


def _updated(obj: Any) -> dict:
    state = inspect(obj)
    changes = {}
    for key in audited_keys(type(obj)):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = json_safe(history.deleted[0]) if history.deleted else None
        new = json_safe(history.added[0]) if history.added else None
        if old != new:
            changes[key] = [old, new]
    _add_references_set(state, changes)
    return changes


def _add_references_set(state, changes: dict) -> None:
    """A reference set through its relationship (`org.owner = m`) reaches its foreign key
    column only during the flush, after this listener: record it from the relationship."""
    keys = audited_keys(state.class_)
    for rel in state.mapper.relationships:
        if rel.direction is not MANYTOONE or len(rel.local_remote_pairs) != 1:
            continue
        local, remote = rel.local_remote_pairs[0]
        key = state.mapper.get_property_by_column(local).key
        if not remote.primary_key or key not in keys or key in changes:
            continue
        added = state.attrs[rel.key].history.added
        if not added:
            continue
        target = added[0]
        # the column still holds the old value: the flush copies the new one into it later
        old = None if state.key is None else getattr(state.obj(), key)
        if target is None:
            new = None
        elif inspect(target).identity is not None:
            new = inspect(target).identity[0]
        else:  # a record made in this same flush: no id yet
            new = json_safe(getattr(target, "public_id", None)) or "(new)"
        if old != new:
            changes[key] = [json_safe(old), json_safe(new)]


def _deleted(obj: Any) -> dict:
    changes = {}
    for key in audited_keys(type(obj)):
        value = getattr(obj, key)  # loads an expired attribute: the record still exists
        if value is not None:
            changes[key] = [json_safe(value), None]
    return changes


# --- writing events ---------------------------------------------------------------------------


def new_event(
    *,
    workspace_id: int,
    action: str,
    record_type: str,
    record_id: uuid.UUID | None = None,
    record_label: str = "",
    changes: dict | None = None,
) -> AuditEvent:
    """An AuditEvent by the current actor, stamped completely: events made during a flush are
    not seen by the tenancy listener, which already ran."""
    actor = current_actor()
    return AuditEvent(
        workspace_id=workspace_id,
        public_id=new_public_id(),
        at=clock.now(),
        actor_id=actor.user_id,
        actor_label=actor.label,
        action=action,
        record_type=record_type,
        record_id=record_id,
        record_label=(record_label or "")[:LABEL_MAX],
        changes=json_safe(changes or {}),
        ip=actor.ip,
        user_agent=actor.user_agent,
    )


def _audited(obj: Any) -> bool:
    return (
        isinstance(obj, WorkspaceScoped)
        and not isinstance(obj, AuditEvent)
        and obj.workspace_id is not None
    )


def _record_changes(session, _flush_context, _instances) -> None:
    for obj in session.dirty:
        if isinstance(obj, AuditEvent):
            raise AuditLogIsAppendOnly("audit events cannot be changed")
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise AuditLogIsAppendOnly("audit events cannot be deleted")
    events = []
    with session.no_autoflush:
        for action, objects, changes_of in (
            ("create", list(session.new), _created),
            ("update", list(session.dirty), _updated),
            ("delete", list(session.deleted), _deleted),
        ):
            for obj in objects:
                if not _audited(obj):
                    continue
                if action == "update" and obj in session.deleted:
                    continue
                changes = changes_of(obj)
                if action == "update" and not changes:
                    continue  # touched, not changed (or only excluded fields changed)
                events.append(
                    new_event(
                        workspace_id=obj.workspace_id,
                        action=action,
                        record_type=type(obj).__name__,
                        record_id=obj.public_id,
                        record_label=record_label(obj),
                        changes=changes,
                    )
                )
    session.add_all(events)


def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) == AuditEvent.__tablename__ or any(
        m.class_ is AuditEvent for m in state.all_mappers
    ):
        raise AuditLogIsAppendOnly("audit events cannot be changed or deleted")
