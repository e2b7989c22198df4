"""The one clock of the application, injectable so tests and worker subprocesses can choose
the time: `INREACH_NOW` (ISO 8601 with an offset) or `clock.frozen(...)` in tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_frozen: datetime | None = None


def parse_now(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("INREACH_NOW needs a UTC offset, e.g. 2026-03-08T09:00:00-06:00")
    return moment.astimezone(UTC)


def now() -> datetime:
    """The current time, aware and in UTC."""
    if _frozen is not None:
        return _frozen
    override = os.environ.get("INREACH_NOW")
    if override:
        return parse_now(override)
    return datetime.now(UTC)


@contextmanager
def frozen(moment: datetime) -> Iterator[Travel]:
    """Stop the clock at `moment` for the block; `travel.forward(...)` moves it on."""
    global _frozen
    previous = _frozen
    _frozen = moment.astimezone(UTC)
    try:
        yield Travel()
    finally:
        _frozen = previous


class Travel:
    def forward(self, **delta: float) -> datetime:
        global _frozen
        assert _frozen is not None
        _frozen = _frozen + timedelta(**delta)
        return _frozen
