"""The real parts the reliability tests run against: a database of their own, a Redis database
leased for one test, `inreach worker` processes, and the people and follow-ups they work on
(the SMTP server is tests/messaging/smtp.py).

These tests span processes, so the per-test transaction of tests/conftest.py cannot hold their
data: each test migrates a database of its own, commits, and drops it at its end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from crm.auth.services import create_user
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.messaging.models import Message
from crm.partners.models import Organization, OrganizationKind, Stage
from crm.roles import Role
from crm.tenancy import ScopedSession, all_workspaces, workspace_context
from crm.workspaces.services import add_membership, create_workspace
from tests.conftest import fresh_database_url, make_test_app
from tests.world import PASSWORD

INREACH = Path(sys.executable).with_name("inreach")  # the console script of this venv
SECRET_KEY = "reliability-tests-secret-key"


# --- a database of the test's own -------------------------------------------------------------


@contextmanager
def own_app(suffix: str, **overrides) -> Iterator:
    """A migrated database private to one test and an app on it; dropped at the end.

    The autouse `_rollback` fixture points `db.session` at the main test database's
    connection: here it points at a plain session again (Flask-SQLAlchemy's, one per app
    context, so one per thread), and is given back afterwards."""
    url = fresh_database_url(suffix)
    fast_commits(url)
    app = make_test_app(url, **overrides)
    rolled_back = db.session
    db.session = db._make_scoped_session({"class_": ScopedSession})
    try:
        with app.app_context():
            upgrade()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        db.session = rolled_back
        drop_database(url)


def _admin(url: str):
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def fast_commits(url: str) -> None:
    """Commits that do not wait for the disk (a server crash could lose the last ones; these
    tests kill clients, never the server): thousands of commits stay cheap on a busy machine."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = _admin(url)
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f'ALTER DATABASE "{parsed.database}" SET synchronous_commit = off'
        )
    admin.dispose()


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = _admin(url)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    admin.dispose()


# --- Redis ----------------------------------------------------------------------------------

# Databases of the test Redis server that worker tests may lease (TEST_REDIS_URL's own one is
# shared with other tests and never flushed). A lease is a key in that database, so two test
# processes, or two engineers' runs on one server, never flush each other's broker.
LEASABLE_DBS = range(14, 7, -1)
LEASE_SECONDS = 600


@contextmanager
def leased_redis_db(base_url: str) -> Iterator[str]:
    """The URL of a Redis database no one else is using, flushed, for one test."""
    import redis

    base = redis.Redis.from_url(base_url)
    home = base.connection_pool.connection_kwargs.get("db", 0)
    owner = f"{socket.gethostname()}:{os.getpid()}:{time.monotonic_ns()}"
    for number in LEASABLE_DBS:
        if number == home:
            continue
        lock = f"inreach-tests:broker-db:{number}"
        if not base.set(lock, owner, nx=True, ex=LEASE_SECONDS):
            continue
        url = make_url_with_db(base_url, number)
        server = redis.Redis.from_url(url)
        try:
            server.flushdb()
        except redis.ResponseError:  # the server has fewer databases
            base.delete(lock)
            continue
        try:
            yield url
        finally:
            server.flushdb()
            if base.get(lock) == owner.encode():
                base.delete(lock)
        return
    raise RuntimeError(f"no free Redis database among {list(LEASABLE_DBS)} on {base_url}")


def make_url_with_db(url: str, number: int) -> str:
    head, _, _ = url.rstrip("/").rpartition("/")
    if head.endswith(":"):  # redis://host:port without a database
        head = url.rstrip("/")
    return f"{head}/{number}"


class Broker:
    """What the worker tests read of the Redis transport's state."""

    def __init__(self, url: str):
        import redis

        self.url = url
        self.redis = redis.Redis.from_url(url)

    def waiting(self, queue: str = "celery") -> int:
        return int(self.redis.llen(queue))

    def unacknowledged(self) -> int:
        """Messages a worker took and never acknowledged (kombu's ack emulation): they come
        back only after the visibility timeout."""
        return int(self.redis.hlen("unacked"))


@contextmanager
def celery_sender(app) -> Iterator:
    """The Celery app `create_app` made for `app` (INREACH_SCHEDULER=celery), to send tasks.

    `celery_init_app` makes it the process's default and current Celery app; the previous
    ones are put back, so no later test sends its tasks to this test's broker."""
    from celery import _state

    default, current = _state.default_app, getattr(_state._tls, "current_app", None)
    try:
        yield app.extensions["celery"]
    finally:
        app.extensions["celery"].close()
        _state.default_app = default
        _state._tls.current_app = current


# --- worker processes -----------------------------------------------------------------------


class Worker:
    """`inreach worker` (or `inreach beat`) in a subprocess, its log in a file; stopped (killed
    if need be) by `stop()`, which the fixtures always call."""

    def __init__(self, env: dict[str, str], log: Path, *options: str, command: str = "worker"):
        self.log = log
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(
            [str(INREACH), command, "--loglevel=INFO", *options],
            env=env,
            cwd=log.parent,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its pool children go with it when it is stopped
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, size: int = 3000) -> str:
        return self.text()[-size:]

    def wait_for_exit(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the worker is still running after {timeout} s:\n{self.tail()}"
            ) from None

    def wait_until_ready(self, timeout: float = 60) -> None:
        wait_for(lambda: "ready." in self.text(), timeout, "the worker to start", self.tail)

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(15)
            else:  # the worker is gone: make sure no pool child outlived it
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
        finally:
            self._log_file.close()


@dataclass
class Workers:
    """Starts workers for one test and stops every one of them at its end."""

    base_env: dict[str, str]
    folder: Path
    started: list[Worker] = field(default_factory=list)

    def start(
        self, *options: str, name: str = "worker", command: str = "worker", **env: str
    ) -> Worker:
        environment = {**self.base_env, **{f"INREACH_{k.upper()}": v for k, v in env.items()}}
        log = self.folder / f"{name}-{len(self.started)}.log"
        worker = Worker(environment, log, *options, command=command)
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        errors = []
        for worker in self.started:
            try:
                worker.stop()
            except Exception as error:  # stop the others all the same
                errors.append(error)
        if errors:
            raise errors[0]


def worker_environment(database_url: str, broker_url: str) -> dict[str, str]:
    """The environment of an operator's worker: nothing of the test run's INREACH_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INREACH_", "TEST_"))}
    env.update(
        PYTHONUNBUFFERED="1",
        INREACH_ENV="development",
        INREACH_SECRET_KEY=SECRET_KEY,
        INREACH_DATABASE_URL=database_url,
        INREACH_SCHEDULER="celery",
        INREACH_BROKER_URL=broker_url,
    )
    return env


def wait_for(
    condition: Callable[[], object],
    timeout: float,
    what: str,
    details: Callable[[], str] = lambda: "",
    every: float = 0.05,
):
    """Poll `condition` until it is true (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{details()}")
        time.sleep(every)


# --- people and follow-ups ------------------------------------------------------------------


@dataclass(frozen=True)
class Team:
    """One workspace: an assignee (staff) and its admins, who get the escalations."""

    workspace_id: int
    zone: str
    assignee_membership_id: int
    assignee_user_id: int
    assignee_email: str
    admin_user_ids: tuple[int, ...]
    subject_id: object  # an organization's public id, what the follow-ups are about

    def recipients(self, stage: int) -> tuple[int, ...]:
        """Whom a stage reminds: the assignee, or for the escalation every admin."""
        return (self.assignee_user_id,) if stage < 3 else self.admin_user_ids


def make_teams(app, zones: list[str], admins: int = 1) -> list[Team]:
    teams = []
    for n, zone in enumerate(zones):
        with app.app_context():  # a session per workspace (tenancy.py expunges strangers)
            workspace = create_workspace(f"Reliability County {n}", zone)
            with workspace_context(workspace.id):
                organization = Organization(
                    name=f"Partner {n}", kind=OrganizationKind.CIVIC, stage=Stage.ACTIVE
                )
                db.session.add(organization)
                staff = create_user(f"staff{n}@reliability.example", PASSWORD, name=f"Staff {n}")
                membership = add_membership(staff, Role.STAFF)
                admin_ids = []
                for a in range(admins):
                    admin = create_user(f"admin{n}-{a}@reliability.example", PASSWORD)
                    add_membership(admin, Role.ADMIN)
                    admin_ids.append(admin.id)
                db.session.flush()
                teams.append(
                    Team(
                        workspace.id,
                        zone,
                        membership.id,
                        staff.id,
                        staff.email,
                        tuple(admin_ids),
                        organization.public_id,
                    )
                )
            db.session.commit()
    return teams


def add_follow_ups(app, team: Team, due_times: list[datetime]) -> list[int]:
    """Follow-ups of `team`, due at these times (in the team's zone); their ids, in order."""
    with app.app_context(), workspace_context(team.workspace_id):
        follow_ups = [
            FollowUp(
                subject_kind="organization",
                subject_id=team.subject_id,
                title=f"Check in with the partner ({n})",
                assignee_id=team.assignee_membership_id,
                due_at=due,
                timezone=team.zone,
            )
            for n, due in enumerate(due_times)
        ]
        db.session.add_all(follow_ups)
        db.session.flush()
        ids = [f.id for f in follow_ups]  # before the commit expires them
        db.session.commit()
        return ids


def copies(mailbox) -> Counter[str]:
    """How many times the SMTP server (tests/messaging/smtp.py) received each Message-ID."""
    return Counter(r.message_id for r in mailbox.received)


def key(follow_up_id: int, stage: int, user_id: int, round_: int = 1) -> str:
    return f"followup:{follow_up_id}:r{round_}:s{stage}:{user_id}"


def outbox_keys(app) -> Counter[str]:
    """Message rows per idempotency key (the unique index says 1; counted all the same)."""
    with app.app_context(), all_workspaces():
        rows = db.session.execute(
            select(Message.idempotency_key, func.count(Message.id)).group_by(
                Message.idempotency_key
            )
        ).all()
        db.session.rollback()
    return Counter({k: n for k, n in rows})


def outbox_message_ids(app, domain: str = "localhost") -> dict[str, str]:
    """Message-ID -> status of every message of the outbox."""
    with app.app_context(), all_workspaces():
        messages = db.session.execute(select(Message)).scalars().all()
        result = {m.message_id(domain): m.status.value for m in messages}
        db.session.rollback()
    return result


def planned_stages(app) -> Counter[int | None]:
    """How many follow-ups wait for each next stage (None: all decided, or not live)."""
    with app.app_context(), all_workspaces():
        rows = db.session.execute(
            select(FollowUp.next_stage, func.count(FollowUp.id)).group_by(FollowUp.next_stage)
        ).all()
        db.session.rollback()
    return Counter({stage: n for stage, n in rows})


def count_messages(app) -> int:
    with app.app_context(), all_workspaces():
        count = db.session.execute(select(func.count(Message.id))).scalar_one()
        db.session.rollback()
    return count


def job_run(app, name: str):
    """(ran_for, ok, result) of a periodic job's last run, or None before its first."""
    from tasks.models import JobRun

    with app.app_context():
        row = db.session.execute(
            select(JobRun.ran_for, JobRun.ok, JobRun.result).where(JobRun.name == name)
        ).first()
        db.session.rollback()
    return tuple(row) if row else None
