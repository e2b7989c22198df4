"""Counting the SQL statements a request sends, to prove a page costs the same for 5 or 500 rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from crm.extensions import db


@contextmanager
def count_queries(app) -> Iterator[list[str]]:
    """The statements sent inside the block (the test's engine, every connection)."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def queries_of(app, client, url: str) -> int:
    """Statements of one GET, after a first GET (which may record the member's activity)."""
    client.get(url)
    with count_queries(app) as statements:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(statements)
