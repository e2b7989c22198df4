"""Fixtures of the background-work tests with real parts: a Redis database leased per test,
an SMTP server on 127.0.0.1, and a stack of a test's own database, broker and workers."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime

import pytest

from tests.conftest import missing
from tests.messaging.smtp import SMTPServer
from tests.tasks.helpers import (
    Broker,
    Workers,
    celery_sender,
    job_run,
    leased_redis_db,
    own_app,
    wait_for,
    worker_environment,
)

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture
def redis_url():
    if not TEST_REDIS_URL:
        missing("TEST_REDIS_URL is not set (a Redis server, e.g. redis://127.0.0.1:6379/15)")
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL).ping()
    except redis.RedisError as error:
        missing(f"Redis at {TEST_REDIS_URL} does not answer: {error}")
    with leased_redis_db(TEST_REDIS_URL) as url:
        yield url


@pytest.fixture
def mailbox():
    server = SMTPServer().start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Stack:
    """A test's own database and broker, the Celery app that sends to it, its workers."""

    app: object
    celery: object
    broker: Broker
    workers: Workers

    def tick(self, job: str, now: datetime | None = None) -> None:
        """What beat does, optionally for a given time (the task's second argument)."""
        args = [job] if now is None else [job, now.isoformat()]
        self.celery.send_task("jobs.run", args=args)

    def wait_for_run(self, job: str, now: datetime, timeout: float = 300) -> str:
        """Wait until the last run of `job` is one for `now` and finished well; its result."""

        def finished():
            run = job_run(self.app, job)
            return run if run and run[0] == now and run[1] is True else None

        return wait_for(finished, timeout, f"{job} to finish for {now}", self.logs)[2]

    def logs(self) -> str:
        return "\n".join(f"--- {w.log.name}\n{w.tail()}" for w in self.workers.started)


@pytest.fixture
def stack(redis_url, tmp_path):
    suffix = f"tasks_{uuid.uuid4().hex[:8]}"
    with (
        own_app(suffix, SCHEDULER="celery", BROKER_URL=redis_url) as app,
        celery_sender(app) as celery,
    ):
        database_url = app.config["SQLALCHEMY_DATABASE_URI"]
        workers = Workers(worker_environment(database_url, redis_url), tmp_path)
        try:
            yield Stack(app, celery, Broker(redis_url), workers)
        finally:
            workers.stop_all()
