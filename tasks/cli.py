"""Operators' commands for background work: jobs, workers, beat, the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from crm import clock
from tasks.runner import UnknownJob, last_runs, run_job
from tasks.schedule import JOBS

jobs = AppGroup("jobs", help="Periodic jobs: list them, run one now.")

NOW_EXAMPLE = "2026-11-06T09:00:00-06:00"


def parse_now_option(_ctx, _param, value: str | None) -> datetime | None:
    """--now: an ISO 8601 time with a UTC offset (a naive time would be read in some zone)."""
    if not value:
        return None
    try:
        return clock.parse_now(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time with a UTC offset, e.g. {NOW_EXAMPLE}"
        ) from None


def _every(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % 1440 == 0:
        return f"every {minutes // 1440} d"
    if minutes % 60 == 0:
        return f"every {minutes // 60} h"
    return f"every {minutes} min"


def _last(run) -> str:
    if run is None or run.started_at is None:
        return "never ran"
    state = {True: "ok", False: "FAILED", None: "running"}[run.ok]
    line = f"last {run.started_at:%Y-%m-%d %H:%M:%S} UTC {state}"
    if run.ran_for is not None and abs(run.ran_for - run.started_at) > timedelta(minutes=1):
        line += f" (as at {run.ran_for:%Y-%m-%d %H:%M:%S} UTC)"
    return f"{line}: {run.result}" if run.result else line


@jobs.command("list")
def list_jobs() -> None:
    """Each job, its schedule, its last run and result."""
    runs = last_runs()
    click.echo(f"scheduler: {current_app.config['SCHEDULER']}")
    for job in JOBS:
        click.echo(f"{job.name:<18} {_every(job.every):<13} {_last(runs.get(job.name))}")


@jobs.command("run")
@click.argument("name")
@click.option(
    "--now",
    "now",
    default=None,
    callback=parse_now_option,
    help=f"run as at this time (ISO 8601 with a UTC offset, e.g. {NOW_EXAMPLE})",
)
def run_command(name: str, now: datetime | None) -> None:
    """Run one job now, in this process (the time it runs for: --now, else INREACH_NOW, else
    the clock)."""
    try:
        click.echo(run_job(name, now))
    except UnknownJob:
        names = ", ".join(job.name for job in JOBS)
        raise click.ClickException(f"no job {name!r}; the jobs are: {names}") from None
    except Exception as error:  # recorded in JobRun and logged with its traceback
        raise click.ClickException(f"{name} failed: {type(error).__name__}: {error}") from None


@click.command("worker")
@click.option("--concurrency", default=2, show_default=True)
@click.option(
    "--pool",
    type=click.Choice(["prefork", "solo"]),
    default="prefork",
    show_default=True,
    help="solo: tasks run in the worker process itself, one at a time",
)
@click.option("--loglevel", default="INFO", show_default=True)
@with_appcontext
def worker(concurrency: int, pool: str, loglevel: str) -> None:
    """Run a Celery worker (INREACH_SCHEDULER=celery, INREACH_BROKER_URL=redis://...)."""
    celery = _celery()
    celery.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--pool={pool}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


@click.command("beat")
@click.option("--loglevel", default="INFO", show_default=True)
@with_appcontext
def beat(loglevel: str) -> None:
    """Run Celery beat: exactly one per installation (a second one is harmless, not useful)."""
    from celery.signals import beat_init

    celery = _celery()

    # Beat's first tick of a job comes one interval after it starts; a beat restarted after
    # an outage would leave due reminders waiting that long again. Every job is idempotent,
    # so one tick of each at start is harmless and decides at once what fell due meanwhile.
    @beat_init.connect(weak=False)
    def tick_every_job_at_start(**_kwargs) -> None:
        for job in JOBS:
            seconds = job.every.total_seconds()
            celery.send_task("jobs.run", args=[job.name], expires=seconds)

    # beat's own state file in the instance folder, not a fixed name in /tmp that another
    # installation or user on the machine would share (or own)
    schedule = Path(current_app.instance_path) / "celerybeat-schedule"
    celery.start(["beat", f"--loglevel={loglevel}", f"--schedule={schedule}"])


def _celery():
    if current_app.config["SCHEDULER"] != "celery" or not current_app.config.get("BROKER_URL"):
        raise click.ClickException("set INREACH_SCHEDULER=celery and INREACH_BROKER_URL first")
    from tasks.celery_app import celery_init_app

    return current_app.extensions.get("celery") or celery_init_app(current_app)
