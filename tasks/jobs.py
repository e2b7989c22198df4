"""The tasks: thin wrappers that enter the right context and call one crm service."""

from __future__ import annotations

import uuid
from datetime import datetime

from celery import shared_task
from sqlalchemy.exc import OperationalError

from crm import clock
from crm.extensions import db
from crm.tenancy import workspace_context
from tasks.runner import run_job

RETRY = {
    "autoretry_for": (OperationalError,),  # the database restarting, a lock timeout
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="jobs.run", **RETRY)
def run_periodic_job(name: str, now: str | None = None) -> str:
    """One tick of a periodic job of tasks/schedule.py."""
    return run_job(name, datetime.fromisoformat(now) if now else None)


def in_workspace(workspace_id: int, work, *args):
    """Run `work` inside `workspace_id` and commit: the one way a task enters a workspace.
    The workspace is always explicit and undone after the task, even on error."""
    if not isinstance(workspace_id, int):
        raise TypeError("a workspace task needs the workspace id")
    try:
        with workspace_context(workspace_id):
            result = work(*args)
            db.session.commit()
            return result
    except Exception:
        db.session.rollback()
        raise


@shared_task(name="followups.remind", **RETRY)
def remind(workspace_id: int, follow_up_id: str, now: str | None = None) -> str:
    """Decide the reminder stage due now for one follow-up of one workspace."""
    from crm.followups.reminders import decide_follow_up

    moment = datetime.fromisoformat(now) if now else clock.now()
    return in_workspace(workspace_id, decide_follow_up, uuid.UUID(follow_up_id), moment)
