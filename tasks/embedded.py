"""The embedded runner: one APScheduler in the `inreach run` process, for one host with one web
process (threads allowed). APScheduler cannot share its job store between processes, and every
gunicorn worker would start its own: several web processes mean Celery beat instead.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from tasks.runner import run_job
from tasks.schedule import JOBS

log = logging.getLogger("inreach.jobs")
_started = threading.Lock()
MISFIRE_GRACE_MINUTES = 5  # a tick late by less than this (a busy or suspended host) still runs
# A job's first run comes this soon after start, not one interval later: a restarted server does
# not leave due reminders waiting (as beat ticks at its start). Every job is idempotent.
FIRST_RUN_AFTER = timedelta(seconds=30)
_scheduler: BackgroundScheduler | None = None


def _run(app: Flask, name: str) -> None:
    with app.app_context():
        try:
            run_job(name)
        except Exception:  # recorded in JobRun by run_job; the next tick tries again
            log.exception("embedded job %s failed", name)


def start_embedded(app: Flask) -> BackgroundScheduler:
    """Start the scheduler once per process (never twice, reloader or not)."""
    global _scheduler
    with _started:
        if _scheduler is not None and _scheduler.running:
            return _scheduler
        scheduler = BackgroundScheduler(
            timezone="UTC",
            job_defaults={
                "coalesce": True,  # missed ticks run once, not once each
                "max_instances": 1,  # a slow run is never overlapped by the next tick
                "misfire_grace_time": MISFIRE_GRACE_MINUTES * 60,  # 3.x's 1 s skips runs
            },
        )
        first_run = datetime.now(UTC) + FIRST_RUN_AFTER
        for job in JOBS:
            scheduler.add_job(
                _run,
                IntervalTrigger(seconds=job.every.total_seconds()),
                next_run_time=first_run,
                args=[app, job.name],
                id=job.name,
                name=job.description,
                replace_existing=True,
            )
        scheduler.start()
        _scheduler = scheduler
        log.info("embedded scheduler started with %d jobs", len(JOBS))
        return scheduler
