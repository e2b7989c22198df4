"""The tests' tripwire: any SQL on a workspace table without the workspace predicate fails.

The route walk proves the routes it knows of; this catches whatever else runs during a test.
Statements are accepted without the predicate only where the tenancy module has vouched for them:
inside a flush (its before_flush check verified every object written), inside all_workspaces(),
and while migrations run (the one explicit allow-list).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event

from crm.tenancy import ScopedSession, current_scope

_in_flush: ContextVar[bool] = ContextVar("tripwire_in_flush", default=False)
_disabled: ContextVar[bool] = ContextVar("tripwire_disabled", default=False)

violations: list[str] = []


@contextmanager
def allowed():
    """The allow-list: only for migrations run by the fixtures."""
    token = _disabled.set(True)
    try:
        yield
    finally:
        _disabled.reset(token)


def _patch_flush() -> None:
    original = ScopedSession.flush
    if getattr(original, "tripwire", False):
        return

    def flush(self, objects=None):
        token = _in_flush.set(True)
        try:
            return original(self, objects)
        finally:
            _in_flush.reset(token)

    flush.tripwire = True
    ScopedSession.flush = flush


def unscoped_references(statement: str, tables: set[str]) -> list[str]:
    """The workspace tables (or their aliases) a statement reads or changes without a
    `<table>.workspace_id =` / `IN` predicate. INSERTs are left to the before_flush check."""
    sql = " ".join(statement.split())
    if not re.match(r"^\s*(SELECT|UPDATE|DELETE|WITH)\b", sql, re.I):
        return []
    missing = []
    pattern = re.compile(
        r'\b(FROM|JOIN|UPDATE)\s+"?(\w+)"?(?:\s+(?:AS\s+)?"?(?!(?:WHERE|JOIN|LEFT|INNER|ON|SET|'
        r'ORDER|GROUP|LIMIT|OFFSET|FOR|UNION|OUTER|CROSS|RIGHT|FULL|HAVING)\b)(\w+)"?)?',
        re.I,
    )
    for match in pattern.finditer(sql):
        table, alias = match.group(2), match.group(3)
        if table not in tables:
            continue
        name = alias or table
        if not re.search(rf'\b"?{re.escape(name)}"?\."?workspace_id"?\s*(=|IN\b)', sql, re.I):
            missing.append(name)
    return missing


def install(engine, tables: set[str]) -> None:
    _patch_flush()

    @event.listens_for(engine, "before_cursor_execute")
    def _check(conn, cursor, statement, parameters, context, executemany):
        if _disabled.get() or _in_flush.get():
            return
        scope = current_scope()
        if scope is not None and scope.all_workspaces:
            return
        missing = unscoped_references(statement, tables)
        if missing:
            message = f"unscoped SQL on {missing}: {' '.join(statement.split())[:400]}"
            violations.append(message)
            raise AssertionError(message)
