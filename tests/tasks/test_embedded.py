"""The embedded scheduler of `inreach run`: one APScheduler job per entry of tasks/schedule.py,
never overlapping, missed ticks run once, and one scheduler per process however often asked."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

import tasks.embedded
from tasks.embedded import start_embedded
from tasks.schedule import JOBS


@pytest.fixture
def scheduler_slot(monkeypatch):
    """No scheduler of an earlier test; the one the test starts is shut down at its end."""
    monkeypatch.setattr(tasks.embedded, "_scheduler", None)
    yield
    if tasks.embedded._scheduler is not None:
        tasks.embedded._scheduler.shutdown(wait=False)


def test_one_job_per_schedule_entry_and_one_scheduler_per_process(app, scheduler_slot):
    started = datetime.now(UTC)
    scheduler = start_embedded(app)
    assert scheduler.running
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert sorted(jobs) == sorted(job.name for job in JOBS)
    for job in JOBS:
        scheduled = jobs[job.name]
        assert isinstance(scheduled.trigger, IntervalTrigger)
        assert scheduled.trigger.interval == job.every
        assert scheduled.coalesce is True  # missed ticks run once, not once each
        assert scheduled.max_instances == 1  # a slow run is never overlapped
        grace = scheduled.misfire_grace_time
        assert grace >= 60 and grace % 60 == 0  # minutes, not APScheduler's 1 s default
        assert scheduled.args == (app, job.name)
        # the first run soon after start (a restart leaves nothing waiting an interval),
        # then every interval
        assert scheduled.next_run_time <= started + tasks.embedded.FIRST_RUN_AFTER + timedelta(
            seconds=5
        )
        assert scheduled.next_run_time >= started + timedelta(seconds=10)

    again = start_embedded(app)
    assert again is scheduler  # nothing new started
    assert len(again.get_jobs()) == len(JOBS)


def test_a_tick_runs_the_job_in_the_app_and_survives_its_failure(app, monkeypatch, caplog):
    import crm.followups.reminders
    from crm import clock
    from crm.extensions import db
    from tasks.models import JobRun

    moment = datetime(2026, 11, 6, 15, 5, tzinfo=UTC)
    with clock.frozen(moment):
        tasks.embedded._run(app, "followups.sweep")  # as the scheduler's thread calls it

    def broken(now):
        raise RuntimeError("boom")

    monkeypatch.setattr(crm.followups.reminders, "run_sweep", broken)
    # the migrations' logging.fileConfig disabled the loggers that existed before it ran
    monkeypatch.setattr(logging.getLogger("inreach.jobs"), "disabled", False)
    with clock.frozen(moment + timedelta(minutes=5)):
        tasks.embedded._run(app, "followups.sweep")  # logged, not raised: the next tick retries
    assert "embedded job followups.sweep failed" in caplog.text
    with app.app_context():
        run = db.session.execute(
            select(JobRun).where(JobRun.name == "followups.sweep")
        ).scalar_one()
        assert (run.ok, run.finished_at, run.result) == (False, moment, "RuntimeError: boom")
