"""Workspace isolation, in one place.

Every workspace-owned model inherits `WorkspaceScoped`. One `do_orm_execute` listener adds the
current workspace (and, for partner users, their organization) to every ORM SELECT, UPDATE and
DELETE through `with_loader_criteria`; one `before_flush` listener stamps and verifies
`workspace_id` on writes and checks that references point into the same workspace. With no
workspace bound, any statement on a workspace model raises before SQL is sent: code enters
`workspace_context()` (tasks, CLI), is given one by the request (crm/web/access.py), or says
`all_workspaces()` explicitly (sweeps that fan out, a user's own memberships).

What the listener cannot see (RELIABILITY.md): `text()` and Core statements on `Table` objects,
and `Session.get()` answered from the identity map. The first is forbidden outside migrations and
this module (the test suite's tripwire fails any such statement); the second is closed by
`ScopedSession.get` and by expunging other workspaces' objects whenever the workspace changes.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

from flask import abort
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import ForeignKey, Index, Uuid, event, false, inspect, select
from sqlalchemy.orm import (
    Mapped,
    Mapper,
    ORMExecuteState,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import ObjectDeletedError
from sqlalchemy.orm.interfaces import MANYTOONE

from crm.database import new_public_id


class NoWorkspaceError(RuntimeError):
    """A workspace model was touched with no workspace bound."""


class WorkspaceMismatchError(RuntimeError):
    """A write would cross from one workspace (or organization) into another."""


@dataclass(frozen=True)
class Scope:
    """What the code running now may see."""

    workspace_id: int | None
    organization_id: int | None = None  # partner users: only their organization's records
    hide_staff_only: bool = False  # partners and viewers never load staff-only fields
    all_workspaces: bool = False


_scope: ContextVar[Scope | None] = ContextVar("inreach_scope", default=None)


def current_scope() -> Scope | None:
    return _scope.get()


def current_workspace_id() -> int:
    scope = _scope.get()
    if scope is None or scope.workspace_id is None:
        raise NoWorkspaceError("no workspace is bound: enter workspace_context() first")
    return scope.workspace_id


# --- models ---------------------------------------------------------------------------------

GLOBAL_TABLES: set[str] = set()


def global_model(cls):
    """Mark a model as global (accounts, the workspace table itself): not scoped by design."""
    GLOBAL_TABLES.add(cls.__tablename__)
    return cls


class WorkspaceScoped:
    """Mixin of every workspace-owned model: `workspace_id`, a random public id, scoped queries.

    `__staff_only__` names attributes that partners and viewers never receive: they load as
    None (or empty) in their requests.
    """

    __staff_only__: ClassVar[tuple[str, ...]] = ()

    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def workspace_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)

    public_id: Mapped[uuid.UUID] = mapped_column(Uuid, default=new_public_id, nullable=False)

    def workspace_optional(self) -> bool:
        """True for the rare record that belongs to no workspace (an account email): it is
        then invisible from every workspace and handled only in all_workspaces()."""
        return False


class OrganizationOwned(WorkspaceScoped):
    """Mixin of records owned by one organization: partner users see only their own."""

    @declared_attr
    def organization_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False)


class OrganizationRoot(WorkspaceScoped):
    """Mixin of the organization model itself: a partner user sees only their own row."""


class StaffOnly:
    """Marker of whole models that partners and viewers never load (activities, follow-ups):
    in their scope every query of such a model finds nothing."""


@event.listens_for(WorkspaceScoped, "after_mapper_constructed", propagate=True)
def _add_workspace_indexes(mapper: Mapper, cls: type) -> None:
    """Every workspace table gets the index that loads a record by public id in its workspace."""
    table = mapper.local_table
    if mapper.inherits is not None or table is None:
        return
    name = f"uq_{table.name}_workspace_id_public_id"
    if not any(index.name == name for index in table.indexes):
        Index(name, table.c.workspace_id, table.c.public_id, unique=True)


def workspace_tables(metadata) -> set[str]:
    """Names of the tables of workspace-owned models (for the tests' tripwire and checks)."""
    return {t.name for t in metadata.sorted_tables if "workspace_id" in t.c} - GLOBAL_TABLES


# --- binding the scope ----------------------------------------------------------------------


@contextmanager
def _bound(scope: Scope | None) -> Iterator[Scope | None]:
    _forget_other_workspaces(scope)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)
        _forget_other_workspaces(_scope.get())


@contextmanager
def workspace_context(
    workspace_id: int,
    *,
    organization_id: int | None = None,
    hide_staff_only: bool = False,
) -> Iterator[Scope]:
    """Bind one workspace for the block: how tasks, CLI commands and tests enter a workspace."""
    if workspace_id is None:
        raise NoWorkspaceError("workspace_context() needs a workspace id")
    with _bound(Scope(workspace_id, organization_id, hide_staff_only)) as scope:
        yield scope


@contextmanager
def all_workspaces() -> Iterator[Scope]:
    """Explicitly see every workspace: for sweeps that fan out, never for request handling."""
    with _bound(Scope(None, all_workspaces=True)) as scope:
        yield scope


def bind_request_scope(scope: Scope | None):
    """Bind the scope of one request; returns the token for `reset_request_scope`."""
    _forget_other_workspaces(scope)
    return _scope.set(scope)


def reset_request_scope(token) -> None:
    _scope.reset(token)


def _forget_other_workspaces(scope: Scope | None) -> None:
    """Expunge identity-map objects the new scope may not see, so `Session.get` cannot hand
    them back. Pending changes to them mean the caller forgot to commit before switching."""
    from flask import has_app_context

    from crm.extensions import db

    # With no scope nothing can be loaded or fetched anyway: the next bind does the sorting.
    if scope is None or scope.all_workspaces or not has_app_context():
        return
    if not db.session.registry.has():
        return
    session = db.session()
    strangers = [obj for obj in session.identity_map.values() if not _visible(obj, scope)]
    for obj in strangers:
        if obj in session.dirty or obj in session.deleted:
            raise WorkspaceMismatchError("commit or roll back before switching workspace")
        session.expunge(obj)


def _visible(obj: Any, scope: Scope | None) -> bool:
    if not isinstance(obj, WorkspaceScoped):
        return True
    if scope is None:
        return False
    if scope.all_workspaces:
        return True
    if _owner_value(obj, "workspace_id") != scope.workspace_id:
        return False
    if scope.hide_staff_only and isinstance(obj, StaffOnly):
        return False
    if scope.organization_id is not None:
        if isinstance(obj, OrganizationOwned):
            return _owner_value(obj, "organization_id") == scope.organization_id
        if isinstance(obj, OrganizationRoot):
            return _owner_value(obj, "id") == scope.organization_id
    return True


def _owner_value(obj: Any, name: str) -> Any:
    """An ownership column of an identity-map object, for sorting it at a scope switch.

    After a commit its attributes are expired, and the scope bound at the switch (perhaps none)
    may not see it; the mechanism itself reads it back across workspaces, as the sweep does.
    """
    state = inspect(obj)
    if name in state.dict or state.key is None:
        return state.dict.get(name)
    token = _scope.set(Scope(None, all_workspaces=True))
    try:
        return getattr(obj, name)
    except ObjectDeletedError:
        return None  # gone from the database: never visible
    finally:
        _scope.reset(token)


# --- the session and its listeners ----------------------------------------------------------


class ScopedSession(FlaskSession):
    """Flask-SQLAlchemy's session, with `get()` closed against the identity-map hole."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        # A session opened on an explicit connection (the tests' outer transaction) stays on it.
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper, clause=clause, bind=bind, **kwargs)

    def get(self, entity, ident, **kwargs):
        mapper = inspect(entity)
        if issubclass(mapper.class_, WorkspaceScoped):
            scope = _scope.get()
            if scope is None:
                raise NoWorkspaceError(f"Session.get({mapper.class_.__name__}) with no workspace")
        obj = super().get(entity, ident, **kwargs)
        if obj is not None and not _visible(obj, _scope.get()):
            return None
        return obj


def _scope_predicates(cls: type, scope: Scope) -> list:
    predicates = [cls.workspace_id == scope.workspace_id]
    if scope.hide_staff_only and issubclass(cls, StaffOnly):
        predicates.append(false())
    if scope.organization_id is not None:
        if issubclass(cls, OrganizationOwned):
            predicates.append(cls.organization_id == scope.organization_id)
        elif issubclass(cls, OrganizationRoot):
            predicates.append(cls.id == scope.organization_id)
    return predicates


def _involves_workspace_model(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, WorkspaceScoped) for m in state.all_mappers)


@event.listens_for(ScopedSession, "do_orm_execute")
def _apply_scope(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    scope = _scope.get()
    if scope is None:
        if _involves_workspace_model(state):
            raise NoWorkspaceError("query on a workspace model with no workspace bound")
        return
    if scope.all_workspaces:
        return
    # Two statements loader criteria do not reach, given the same predicates as a plain WHERE:
    # refreshing an expired or deferred attribute (a fetch by primary key: an object outside the
    # scope fails to refresh, ObjectDeletedError, instead of leaking), and an ORM bulk UPDATE by
    # primary key (a list of parameter sets: a row outside the scope is not matched).
    bulk_by_primary_key = state.is_update and isinstance(state.parameters, list | tuple)
    if state.is_column_load or bulk_by_primary_key:
        for mapper in state.all_mappers:
            if issubclass(mapper.class_, WorkspaceScoped):
                state.statement = state.statement.where(*_scope_predicates(mapper.class_, scope))
        return
    workspace_id = scope.workspace_id
    options = [
        with_loader_criteria(
            WorkspaceScoped,
            lambda cls: cls.workspace_id == workspace_id,
            include_aliases=True,
        )
    ]
    organization_id = scope.organization_id
    if organization_id is not None:
        options.append(
            with_loader_criteria(
                OrganizationOwned,
                lambda cls: cls.organization_id == organization_id,
                include_aliases=True,
            )
        )
        options.append(
            with_loader_criteria(
                OrganizationRoot,
                lambda cls: cls.id == organization_id,
                include_aliases=True,
            )
        )
    if scope.hide_staff_only:
        options.append(with_loader_criteria(StaffOnly, lambda cls: false(), include_aliases=True))
    state.statement = state.statement.options(*options)


@event.listens_for(WorkspaceScoped, "load", propagate=True)
def _hide_staff_only_on_load(target, _context) -> None:
    _blank_staff_only(target, type(target).__staff_only__)


@event.listens_for(WorkspaceScoped, "refresh", propagate=True)
def _hide_staff_only_on_refresh(target, _context, attrs) -> None:
    names = type(target).__staff_only__
    _blank_staff_only(target, names if attrs is None else [n for n in names if n in attrs])


def _blank_staff_only(target, names) -> None:
    scope = _scope.get()
    if not names or scope is None or not scope.hide_staff_only:
        return
    mapper = inspect(type(target))
    for name in names:
        prop = mapper.attrs[name]
        empty = [] if getattr(prop, "uselist", False) else None
        # committed, not a change: nothing is written back if the record is saved
        set_committed_value(target, name, empty)


@event.listens_for(ScopedSession, "before_flush")
def _check_writes(session, _flush_context, _instances) -> None:
    scope = _scope.get()
    for obj in session.new:
        if isinstance(obj, WorkspaceScoped):
            _stamp_new(obj, scope)
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, WorkspaceScoped):
            _check_existing(obj, scope)
    _check_references(session, scope)


def _stamp_new(obj: WorkspaceScoped, scope: Scope | None) -> None:
    name = type(obj).__name__
    if obj.workspace_optional():
        if obj.workspace_id is not None:
            raise WorkspaceMismatchError(f"a {name} of this kind belongs to no workspace")
        if obj.public_id is None:
            obj.public_id = new_public_id()
        return
    if scope is None:
        raise NoWorkspaceError(f"new {name} with no workspace bound")
    if scope.all_workspaces:
        if obj.workspace_id is None:
            raise NoWorkspaceError(f"new {name} in all_workspaces(): set workspace_id explicitly")
    elif obj.workspace_id is None:
        obj.workspace_id = scope.workspace_id
    elif obj.workspace_id != scope.workspace_id:
        raise WorkspaceMismatchError(f"new {name} for another workspace")
    if obj.public_id is None:
        obj.public_id = new_public_id()
    if scope.hide_staff_only and isinstance(obj, StaffOnly):
        raise WorkspaceMismatchError(f"a {name} is staff-only")
    if scope.organization_id is not None:
        if isinstance(obj, OrganizationRoot):
            raise WorkspaceMismatchError("a partner user cannot create organizations")
        if isinstance(obj, OrganizationOwned):
            if obj.organization_id is None:
                obj.organization_id = scope.organization_id
            elif obj.organization_id != scope.organization_id:
                raise WorkspaceMismatchError(f"new {name} for another organization")


def _check_existing(obj: WorkspaceScoped, scope: Scope | None) -> None:
    state = inspect(obj)
    history = state.attrs.workspace_id.history
    if history.deleted and history.deleted[0] is not None:
        raise WorkspaceMismatchError("a record never moves to another workspace")
    if not _visible(obj, scope):
        raise WorkspaceMismatchError(f"{type(obj).__name__} is outside the bound scope")


def _check_references(session, scope: Scope | None) -> None:
    """Every many-to-one reference of a new or changed record points into its own workspace.

    One query per referenced model, through the scoped query itself in a workspace (a record of
    another workspace is simply not found), by comparing workspace ids in all_workspaces().
    """
    wanted: dict[type, dict[Any, int]] = defaultdict(dict)  # target class -> {id: workspace_id}
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, WorkspaceScoped):
            continue
        state = inspect(obj)
        for rel in state.mapper.relationships:
            target = rel.mapper.class_
            if rel.direction is not MANYTOONE or not issubclass(target, WorkspaceScoped):
                continue
            for local, remote in rel.local_remote_pairs:
                if remote.key != "id" or local.key == "workspace_id":
                    continue
                related = state.attrs[rel.key].loaded_value
                if isinstance(related, WorkspaceScoped) and related.workspace_id is not None:
                    if related.workspace_id != obj.workspace_id:
                        raise WorkspaceMismatchError(
                            f"reference to a {target.__name__} outside this workspace"
                        )
                    continue
                attr = state.mapper.get_property_by_column(local).key
                changed = state.pending or state.attrs[attr].history.added
                value = getattr(obj, attr)
                if changed and value is not None:
                    wanted[target][value] = obj.workspace_id
    with session.no_autoflush:
        for target, refs in wanted.items():
            rows = session.execute(
                select(target.id, target.workspace_id).where(target.id.in_(list(refs)))
            ).all()
            found = {row.id: row.workspace_id for row in rows}
            for target_id, workspace_id in refs.items():
                if found.get(target_id) != workspace_id:
                    raise WorkspaceMismatchError(
                        f"reference to a {target.__name__} outside this workspace"
                    )


# --- loading records in views ---------------------------------------------------------------


def get_or_404(model: type[WorkspaceScoped], public_id: uuid.UUID | str):
    """The record of the current workspace (and organization) with this public id, or 404.

    A record of another workspace is indistinguishable from one that does not exist.
    """
    from crm.extensions import db

    if not isinstance(public_id, uuid.UUID):
        try:
            public_id = uuid.UUID(str(public_id))
        except ValueError:
            abort(404)
    obj = db.session.execute(select(model).where(model.public_id == public_id)).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj
