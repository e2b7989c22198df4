"""Fault injection for the reliability tests, off unless INREACH_FAULT is set.

`INREACH_FAULT=sweep.decided:500` kills this process (SIGKILL: no cleanup, no commit) right
after the 500th reminder decision of a sweep; `outbox.accepted:3` right after the SMTP server
accepted the 3rd message and before its result is committed. The tests start real worker
processes with it to prove that the database, not the broker, recovers the work.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_counts: Counter[str] = Counter()


def _armed() -> tuple[str, int] | None:
    spec = os.environ.get("INREACH_FAULT", "")
    point, _, count = spec.partition(":")
    return (point, int(count)) if point and count.isdigit() else None


def hook(point: str):
    """A callback for the given fault point, or None when no fault is armed there."""
    armed = _armed()
    if armed is None or armed[0] != point:
        return None

    def reached(_item_id) -> None:
        _counts[point] += 1
        if _counts[point] >= armed[1]:
            os.kill(os.getpid(), signal.SIGKILL)

    return reached
