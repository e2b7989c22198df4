"""Background work with real parts: PostgreSQL, Redis, `inreach worker` processes, SMTP.

What RELIABILITY.md ("Celery and reminders") promises, tried for real:
- two sweeps forced to overlap (a barrier) decide every due stage once, and the mail server
  receives exactly the messages decided;
- a worker killed (SIGKILL) mid-sweep, then restarted: the next tick finishes the work exactly,
  from the database; the killed task's message stays with the broker (visibility timeout);
- a pool process killed mid-sweep: its worker gives the task back at once, and the repeat
  finishes the work exactly;
- a worker killed while sending loses nothing: after the lease, the one message the server had
  accepted goes again, with the same Message-ID, and only that one;
- two beats ticking for 100 ticks, each tick sent twice: nothing decided twice, nothing missed.

These tests need PostgreSQL (deselected on SQLite) and Redis (TEST_REDIS_URL; skipped without
it, a failure in CI). Each uses a database of its own and a Redis database leased for it.
"""

from __future__ import annotations

import random
import re
import signal
import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm import clock
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.followups.reminders import Settings, SweepResult, stage_times, sweep
from crm.messaging.delivery import MailSettings, SendResult, send_outbox
from crm.messaging.services import queue_message
from crm.tenancy import all_workspaces, workspace_context
from crm.workspaces.models import Workspace
from tests.tasks.helpers import (
    Team,
    add_follow_ups,
    copies,
    count_messages,
    job_run,
    key,
    make_teams,
    outbox_keys,
    outbox_message_ids,
    own_app,
    planned_stages,
    wait_for,
)

pytestmark = pytest.mark.postgres_only

CHICAGO = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 4, 10, 0, tzinfo=CHICAGO)  # a Wednesday, in working hours
SWEEP, SEND = "followups.sweep", "outbox.send"


def expected_stage_keys(ids: list[int], team: Team, stage: int) -> set[str]:
    return {key(i, stage, user) for i in ids for user in team.recipients(stage)}


# --- 1. two sweeps at once --------------------------------------------------------------------


def test_two_sweeps_forced_to_overlap_decide_each_stage_once(mailbox):
    """Two sweeps, each in its own thread and session, held mid-batch at a barrier until both
    are there; then two senders the same way. (Batches of 100: more claims cross.)"""
    with own_app(f"tasks_{uuid.uuid4().hex[:8]}") as app, clock.frozen(NOW):
        teams = make_teams(app, ["America/Chicago", "America/New_York", "America/Denver"], admins=2)
        expected: set[str] = set()
        all_ids: list[int] = []
        for team in teams:
            # due this morning: stage 1, to the assignee
            today = add_follow_ups(app, team, [NOW - timedelta(seconds=37 * n) for n in range(160)])
            # a fortnight overdue: found late, one decision, the escalation to both admins
            late = add_follow_ups(
                app, team, [NOW - timedelta(days=14, seconds=37 * n) for n in range(40)]
            )
            expected |= expected_stage_keys(today, team, 1) | expected_stage_keys(late, team, 3)
            all_ids += today + late
        assert len(all_ids) == 600 and len(expected) == 480 + 240

        decided_by: dict[str, list[int]] = {"one": [], "two": []}

        def sweep_in(name: str, meet) -> SweepResult:
            def after_decide(follow_up_id: int) -> None:
                decided_by[name].append(follow_up_id)
                if len(decided_by[name]) == 10:  # mid-batch: claimed, locked, not committed
                    meet()

            return sweep(NOW, batch_size=100, after_decide=after_decide)

        swept = overlapping(app, sweep_in)
        one, two = set(decided_by["one"]), set(decided_by["two"])
        assert not one & two and one | two == set(all_ids)
        assert len(decided_by["one"]) + len(decided_by["two"]) == 600
        assert swept["one"].decided + swept["two"].decided == 600
        assert swept["one"].messages + swept["two"].messages == len(expected)

        with app.app_context():
            again = sweep(NOW)  # the sweep run once more: everything is decided already
        assert (again.decided, again.messages) == (0, 0)

        keys = outbox_keys(app)
        assert set(keys) == expected
        assert set(keys.values()) == {1}

        # two senders at once, also forced to overlap: each message goes once
        settings = MailSettings(host="127.0.0.1", port=mailbox.port, starttls=False)

        def send_in(name: str, meet) -> SendResult:
            accepted = []

            def after_send(message_id: int) -> None:
                accepted.append(message_id)
                if len(accepted) == 5:  # mid-batch: claimed, some sent, not all recorded
                    meet()

            return send_outbox(settings, NOW + timedelta(minutes=1), after_send=after_send)

        sent = overlapping(app, send_in)
        assert sum(r.sent for r in sent.values()) == len(expected)
        assert sum(r.retried + r.failed for r in sent.values()) == 0
        decided = outbox_message_ids(app)
        assert copies(mailbox) == Counter(dict.fromkeys(decided, 1))
        assert set(decided.values()) == {"sent"}


def overlapping(app, work) -> dict[str, object]:
    """`work(name, meet)` in two threads, each with its own app context and session; `meet()`
    holds a thread at a barrier until the other one gets there too, so both are mid-work at
    once (or the test fails: without it, two runs may simply take turns)."""
    barrier = threading.Barrier(2, timeout=120)
    met: list[str] = []
    results: dict[str, object] = {}
    errors: dict[str, BaseException] = {}

    def meet(name: str) -> None:
        barrier.wait()
        met.append(name)

    def run(name: str) -> None:
        try:
            with app.app_context():
                results[name] = work(name, lambda: meet(name))
        except BaseException as error:  # IntegrityError included: reported below
            errors[name] = error
            barrier.abort()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    assert errors == {}
    assert sorted(met) == ["one", "two"], "the two runs did not overlap"
    return results


# --- 2. a worker killed mid-sweep ------------------------------------------------------------


def test_a_worker_killed_mid_sweep_is_finished_exactly_by_the_next_tick(stack):
    """The whole worker dies (solo pool: the task runs in the worker process), as when its
    machine goes down. Its message stays unacknowledged with Redis for the visibility timeout
    (an hour): the test never waits for it; the next tick finishes from the database."""
    app = stack.app
    expected: set[str] = set()
    for team in make_teams(app, ["America/Chicago", "America/New_York"]):
        ids = add_follow_ups(app, team, [NOW - timedelta(seconds=5 * n) for n in range(1000)])
        expected |= expected_stage_keys(ids, team, 1)
    assert len(expected) == 2000

    killed = stack.workers.start(
        "--concurrency=1",
        "--pool=solo",
        now=NOW.isoformat(),
        fault="sweep.decided:700",
        sweep_batch_size="500",
    )
    stack.tick(SWEEP)
    assert killed.wait_for_exit(300) == -signal.SIGKILL, killed.tail()
    # batches of 500 commit alone: the first stands, the second died with the process; a
    # decision and its messages commit together
    assert count_messages(app) == 500
    assert planned_stages(app) == {2: 500, 1: 1500}
    assert job_run(app, SWEEP)[1] is None  # started, never finished
    # its message is neither queued nor coming back soon: taken, unacknowledged (acks_late)
    assert (stack.broker.waiting(), stack.broker.unacknowledged()) == (0, 1)

    stack.workers.start(
        "--concurrency=1", "--pool=solo", now=NOW.isoformat(), sweep_batch_size="500"
    )
    stack.tick(SWEEP)  # the next beat: the database says what is left
    result = stack.wait_for_run(SWEEP, NOW)
    assert result == "1500 reminder stage(s) decided, 1500 message(s) queued"
    assert planned_stages(app) == {2: 2000}
    keys = outbox_keys(app)
    assert set(keys) == expected
    assert set(keys.values()) == {1}
    # the recovery did not come from the broker: the killed task's message is still out there
    # (the new one is acknowledged just after its run is recorded: waited for)
    wait_for(lambda: stack.broker.unacknowledged() == 1, 30, "the acknowledgement", stack.logs)
    assert stack.broker.waiting() == 0


def test_a_pool_process_killed_mid_sweep_is_redelivered_at_once_and_finishes_exactly(stack):
    """The prefork pool (the default): the kernel kills the process running the task (say,
    out of memory), its worker lives on and gives the message back at once
    (task_reject_on_worker_lost); the repeat finds in the database what is left."""
    app = stack.app
    team = make_teams(app, ["America/Chicago"])[0]
    ids = add_follow_ups(app, team, [NOW - timedelta(seconds=5 * n) for n in range(800)])
    expected = expected_stage_keys(ids, team, 1)

    # killed 100 decisions into the second batch; the repeat (a new pool process, with a
    # count of its own) has 300 left to decide and stays under the fault
    worker = stack.workers.start(
        "--concurrency=1", now=NOW.isoformat(), fault="sweep.decided:600", sweep_batch_size="500"
    )
    stack.tick(SWEEP)  # one tick, never sent again
    result = stack.wait_for_run(SWEEP, NOW)
    assert result == "300 reminder stage(s) decided, 300 message(s) queued"
    assert "signal 9 (SIGKILL)" in worker.text()
    assert worker.process.poll() is None  # the worker itself lived on
    keys = outbox_keys(app)
    assert set(keys) == expected
    assert set(keys.values()) == {1}
    # the repeat was acknowledged: nothing left with the broker
    wait_for(lambda: stack.broker.unacknowledged() == 0, 30, "the acknowledgement", stack.logs)
    assert stack.broker.waiting() == 0


# --- 3. a worker killed while sending --------------------------------------------------------


def test_a_worker_killed_while_sending_loses_nothing_and_repeats_one_message(stack, mailbox):
    """Killed after the server accepted the 10th message, before that was recorded. The lease
    keeps its default (10 minutes): each tick says its time, so the clock moves past it."""
    app = stack.app
    team = make_teams(app, ["America/Chicago"])[0]
    with app.app_context(), clock.frozen(NOW), workspace_context(team.workspace_id):
        for n in range(50):
            queue_message(
                kind="reliability_notice",
                idempotency_key=f"reliability:{n}",
                recipient=f"person{n}@reliability.example",
                subject="A follow-up is due",
                body=f"Notice {n}",
            )
        db.session.commit()
    smtp = {"mail_host": "127.0.0.1", "mail_port": str(mailbox.port), "mail_starttls": "false"}

    first_try = NOW + timedelta(minutes=1)
    killed = stack.workers.start(
        "--pool=solo", now=first_try.isoformat(), fault="outbox.accepted:10", **smtp
    )
    stack.tick(SEND)
    assert killed.wait_for_exit(300) == -signal.SIGKILL, killed.tail()
    accepted = [r.message_id for r in mailbox.received]
    assert len(accepted) == 10
    statuses = outbox_message_ids(app)
    assert len(statuses) == 50
    # the 10th was accepted by the server and never recorded: still under the dead claim
    assert statuses[accepted[-1]] == "sending"
    assert Counter(statuses.values()) == {"sent": 9, "sending": 41}

    stack.workers.start("--pool=solo", **smtp)  # restarted; each tick says its time
    within_lease = first_try + timedelta(minutes=5)
    stack.tick(SEND, within_lease)
    assert stack.wait_for_run(SEND, within_lease) == "0 sent, 0 to retry, 0 failed"
    assert len(mailbox.received) == 10  # the killed sender's claims still stand

    after_lease = first_try + timedelta(minutes=11)  # LEASE is 10 minutes
    stack.tick(SEND, after_lease)
    assert stack.wait_for_run(SEND, after_lease) == "41 sent, 0 to retry, 0 failed"
    received = copies(mailbox)
    assert set(received) == set(statuses)  # every message received
    assert {m: n for m, n in received.items() if n > 1} == {accepted[-1]: 2}
    repeated = [r.email.as_bytes() for r in mailbox.received if r.message_id == accepted[-1]]
    assert repeated[0] == repeated[1]  # the same email: same Message-ID, same Date
    assert set(outbox_message_ids(app).values()) == {"sent"}


# --- 4. two beats ----------------------------------------------------------------------------

TICKS = 100
EVERY = timedelta(minutes=5)  # the sweep's schedule (tasks/schedule.py)
FIRST_TICK = datetime(2026, 11, 4, 8, 0, tzinfo=CHICAGO)
SUCCEEDED = re.compile(
    r"Task jobs\.run\[[^\]]+\] succeeded in [^:]+: '(\d+) reminder stage\(s\) decided"
)


def _planned(app, teams: list[Team]) -> list[tuple[int, Team, dict[int, datetime]]]:
    """Each follow-up's stage times, as the sweep will work them out."""
    planned = []
    with app.app_context(), all_workspaces():
        by_id = {team.workspace_id: team for team in teams}
        settings = {w.id: Settings.of(w) for w in db.session.execute(select(Workspace)).scalars()}
        rows = db.session.execute(
            select(FollowUp.id, FollowUp.workspace_id, FollowUp.due_at, FollowUp.timezone)
        ).all()
        db.session.rollback()
    for row in rows:
        times = stage_times(row.due_at, row.timezone, settings[row.workspace_id])
        planned.append((row.id, by_id[row.workspace_id], times))
    return planned


def _decided_by_tick(planned, ticks: list[datetime]) -> list[set[str]]:
    """The keys a correct sweep decides at each tick: at each stage's first tick, except that
    a follow-up found late gets its latest due stage only."""
    next_stage = {follow_up_id: 1 for follow_up_id, _, _ in planned}
    by_tick = []
    for now in ticks:
        decided = set()
        for follow_up_id, team, times in planned:
            stages = range(next_stage[follow_up_id], 4)
            due = [s for s in stages if times[s] <= now]
            if due:
                stage = due[-1]
                decided |= {key(follow_up_id, stage, u) for u in team.recipients(stage)}
                next_stage[follow_up_id] = stage + 1  # 4: all three decided
        by_tick.append(decided)
    return by_tick


def test_two_beats_ticking_100_times_decide_everything_once_and_miss_nothing(stack):
    """Two beats are two senders of the same tick (beat's schedule is 5 minutes: real beats
    would take 8 hours for 100 ticks). Each tick goes twice, for its time, to two workers,
    follow-ups falling due between ticks; before the next tick, everything due by this one
    must be decided (none missed), and at the end every run's count of decisions adds up to
    the decisions made (none twice). Whether the two copies of a tick run at the same moment
    is left to the workers here: test 1 forces two sweeps to overlap."""
    app = stack.app
    teams = make_teams(app, ["America/Chicago", "America/New_York", "America/Los_Angeles"])
    ticks = [FIRST_TICK + EVERY * n for n in range(TICKS)]
    window = ticks[-1] - ticks[0] + timedelta(hours=1)
    pick = random.Random(20261104)

    def moments(days_before: int) -> list[datetime]:
        start = ticks[0] - timedelta(days=days_before, minutes=30)
        return [start + window * pick.random() for _ in range(40)]

    for team in teams:
        add_follow_ups(app, team, moments(0))  # falling due between ticks: stage 1
        # due Monday: stage 2 falls due in the window (stage 1 at the first tick)
        add_follow_ups(app, team, moments(2))
        # due last Thursday, before the clocks went back: the escalation in the window
        # (stage 2, due Monday, at the first tick: found late, it goes alone)
        add_follow_ups(app, team, moments(6))
    by_tick = _decided_by_tick(_planned(app, teams), ticks)
    expected = set().union(*by_tick)
    assert sum(1 for decided in by_tick[1:] if decided) > 50  # most ticks have work

    for n in range(2):
        stack.workers.start("--concurrency=1", name=f"worker{n}").wait_until_ready()
    so_far: set[str] = set()
    for now, decided in zip(ticks, by_tick, strict=True):
        stack.tick(SWEEP, now)  # beat one
        stack.tick(SWEEP, now)  # beat two, the same tick
        so_far |= decided
        size = len(so_far)
        wait_for(
            lambda size=size: count_messages(app) >= size,
            30,
            f"the tick of {now}",
            stack.logs,
        )
        assert set(outbox_keys(app)) == so_far, f"the tick of {now}"

    def runs() -> list[int]:
        return [int(m) for w in stack.workers.started for m in SUCCEEDED.findall(w.text())]

    wait_for(lambda: len(runs()) == 2 * TICKS, 60, "every tick to have run", stack.logs)
    logs = "".join(w.text() for w in stack.workers.started)
    assert "Traceback" not in logs and "ERROR" not in logs
    assert all(w.process.poll() is None for w in stack.workers.started)
    keys = outbox_keys(app)
    assert set(keys) == expected
    assert set(keys.values()) == {1}
    # each decision was made by one run: the duplicate ticks decided nothing
    decisions = sum(len({k.rsplit(":", 1)[0] for k in decided}) for decided in by_tick)
    assert sum(runs()) == decisions
