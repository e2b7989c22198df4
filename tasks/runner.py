"""Running one periodic job: the time it runs for, its result, and its record in JobRun.

A JobRun row keeps, per job: when the latest run started and the time it ran for (`ran_for`:
INREACH_NOW or --now may differ from the wall clock), whether it succeeded (`ok`: None while it
runs) with its summary or error, and `finished_at`, when a run last *succeeded*. A failed run
leaves `finished_at` alone, so /healthz still measures the lag from the last good sweep and a
sweep that keeps failing shows as late instead of as "never ran".
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm import clock
from crm.database import write_intent
from crm.extensions import db
from tasks.models import JobRun
from tasks.schedule import JOBS_BY_NAME

log = logging.getLogger("inreach.jobs")


class UnknownJob(KeyError):
    pass


def run_job(name: str, now: datetime | None = None) -> str:
    """Run the job `name` (inside an app context) for the time `now` (default: the clock) and
    record how it went. The job's own error is re-raised after it is recorded."""
    job = JOBS_BY_NAME.get(name)
    if job is None:
        raise UnknownJob(name)
    now = now or clock.now()
    _record(name, started_at=clock.now(), ran_for=now, ok=None, result="")
    try:
        summary = job.function()(now)
    except Exception as error:
        db.session.rollback()
        log.exception("job %s failed", name)
        try:
            _record(name, ok=False, result=f"{type(error).__name__}: {error}"[:2000])
        except Exception:  # the database itself may be what failed: the job's error matters
            db.session.rollback()
            log.exception("job %s: its failure could not be recorded", name)
        raise
    _record(name, finished_at=clock.now(), ok=True, result=summary)
    log.info("job %s: %s", name, summary)
    return summary


def _record(name: str, **values) -> None:
    token = write_intent.set(True)  # SQLite: read then write in one transaction, lock first
    try:
        run = db.session.execute(select(JobRun).where(JobRun.name == name)).scalar_one_or_none()
        if run is None:
            try:
                with db.session.begin_nested():  # two runners' first run: one row wins
                    db.session.add(JobRun(name=name))
            except IntegrityError:
                pass
            run = db.session.execute(select(JobRun).where(JobRun.name == name)).scalar_one()
        for key, value in values.items():
            setattr(run, key, value)
        db.session.commit()
    finally:
        write_intent.reset(token)


def last_runs() -> dict[str, JobRun]:
    return {run.name: run for run in db.session.execute(select(JobRun)).scalars()}
