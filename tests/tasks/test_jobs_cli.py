"""`inreach jobs list` and `inreach jobs run NAME [--now ISO]`, and the clock every job runs
by: --now, else INREACH_NOW, else the wall clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select

import crm.followups.reminders
from crm import clock
from crm.extensions import db
from tasks.models import JobRun
from tasks.runner import run_job


@pytest.fixture(autouse=True)
def no_runs_yet(app):
    """No job has run in this test's world (whatever a test that commits for real left)."""
    with app.app_context():
        db.session.execute(delete(JobRun))
        db.session.commit()


@pytest.fixture
def jobs(app):
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(args=["jobs", *args])

    return run


def line_of(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(name))


def the_run(app, name: str) -> JobRun:
    with app.app_context():
        run = db.session.execute(select(JobRun).where(JobRun.name == name)).scalar_one()
        db.session.expunge(run)
        return run


def test_list_then_run_then_list(app, jobs):
    listed = jobs("list")
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines()[0] == "scheduler: off"  # the test config
    sweep, send = line_of(listed.output, "followups.sweep"), line_of(listed.output, "outbox.send")
    assert "every 5 min" in sweep and sweep.endswith("never ran")
    assert "every 1 min" in send and send.endswith("never ran")

    ran = jobs("run", "followups.sweep", "--now", "2026-11-06T15:05:00+00:00")
    assert ran.exit_code == 0, ran.output
    assert re.fullmatch(r"\d+ reminder stage\(s\) decided, \d+ message\(s\) queued\n", ran.output)

    listed = jobs("list")
    sweep = line_of(listed.output, "followups.sweep")
    assert re.search(r"last \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC ok", sweep), sweep
    assert "(as at 2026-11-06 15:05:00 UTC)" in sweep
    assert sweep.endswith(ran.output.strip())  # the result
    assert line_of(listed.output, "outbox.send").endswith("never ran")
    run = the_run(app, "followups.sweep")
    assert run.ran_for == datetime(2026, 11, 6, 15, 5, tzinfo=UTC)
    assert run.ok is True and run.finished_at is not None


def test_an_unknown_job_fails_with_the_list_of_names(app, jobs):
    result = jobs("run", "followups.swep")
    assert result.exit_code == 1
    assert "no job 'followups.swep'; the jobs are: followups.sweep, outbox.send" in result.output
    with app.app_context():
        assert db.session.execute(select(JobRun)).first() is None


@pytest.mark.parametrize("bad", ["tomorrow", "2026-11-06T15:05:00", "2026-13-01T00:00:00+00:00"])
def test_a_bad_now_fails_clearly_and_runs_nothing(app, jobs, bad):
    result = jobs("run", "followups.sweep", "--now", bad)
    assert result.exit_code == 2
    assert "Invalid value for '--now'" in result.output
    assert f"{bad!r} is not an ISO 8601 time with a UTC offset" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.execute(select(JobRun)).first() is None


def test_inreach_now_is_the_time_a_job_runs_for(app, jobs, monkeypatch):
    monkeypatch.setenv("INREACH_NOW", "2026-11-06T09:05:00-06:00")
    moment = datetime(2026, 11, 6, 15, 5, tzinfo=UTC)
    assert clock.now() == moment
    result = jobs("run", "outbox.send")
    assert result.exit_code == 0, result.output
    assert result.output == "no SMTP configured: 0 message(s) wait in the outbox\n"
    run = the_run(app, "outbox.send")
    assert (run.ran_for, run.started_at, run.finished_at) == (moment, moment, moment)
    # --now wins over INREACH_NOW
    jobs("run", "outbox.send", "--now", "2026-12-01T12:00:00+00:00")
    assert the_run(app, "outbox.send").ran_for == datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_a_failing_job_is_recorded_and_fails_the_command(app, jobs, monkeypatch):
    with clock.frozen(datetime(2026, 11, 6, 15, 5, tzinfo=UTC)):
        assert jobs("run", "followups.sweep").exit_code == 0
    good = the_run(app, "followups.sweep").finished_at

    def broken(now):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(crm.followups.reminders, "run_sweep", broken)
    with clock.frozen(datetime(2026, 11, 6, 15, 10, tzinfo=UTC)):
        result = jobs("run", "followups.sweep")
    assert result.exit_code == 1
    assert "followups.sweep failed: RuntimeError: the database went away" in result.output
    assert "Traceback" not in result.output
    run = the_run(app, "followups.sweep")
    assert (run.ok, run.result) == (False, "RuntimeError: the database went away")
    assert run.started_at == datetime(2026, 11, 6, 15, 10, tzinfo=UTC)
    assert run.finished_at == good  # still the last sweep that succeeded
    sweep = line_of(jobs("list").output, "followups.sweep")
    assert "2026-11-06 15:10:00 UTC FAILED: RuntimeError: the database went away" in sweep
    with app.app_context(), pytest.raises(RuntimeError):
        run_job("followups.sweep")  # called directly, the job's error is the caller's
