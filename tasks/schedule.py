"""The one table of periodic jobs, read by both runners: the embedded APScheduler of
`inreach run` and Celery beat. Each job is a function `(now) -> summary` in a crm service
module; every one is idempotent, so a duplicate tick (two beats, a restart) decides nothing twice.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    target: str  # "module:function", called with the job's `now`
    description: str

    def function(self) -> Callable[[datetime], str]:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)


JOBS: tuple[Job, ...] = (
    Job(
        "followups.sweep",
        timedelta(minutes=5),
        "crm.followups.reminders:run_sweep",
        "Decide the follow-up reminders that fell due (at due, overdue, escalation).",
    ),
    Job(
        "outbox.send",
        timedelta(minutes=1),
        "crm.messaging.delivery:run_send",
        "Send queued mail over SMTP (without SMTP configured, mail waits in the outbox).",
    ),
)

JOBS_BY_NAME = {job.name: job for job in JOBS}
