"""The reminder sweep deciding 100,000 due follow-ups among 1,000,000: time and memory peak.

    python -m tests.benchmarks.bench_sweep [--runs 1] [--batch-size N]   (or `make bench`)
        [--profile]: cProfile of the sweep in the child (slower: timings are then not the figure)
        [--keep]: keep the run's copy of the database (SQLite file, PostgreSQL database)
        [--max-batches N]: stop the sweep after N batches (a quick profile; checks skipped)

Not part of `make test`. Seeds, or reuses, the cached database of tests/benchmarks/seed_sweep.py:
100 workspaces of 10,000 follow-ups, 100,000 of them due for stage 1 at a fixed NOW (a
Wednesday, 15:00 UTC; every other follow-up is done, cancelled or planned after NOW).

Each run starts from the same state: a copy of the seeded database (SQLite: the file copied;
PostgreSQL: CREATE DATABASE ... TEMPLATE the seeded one, dropped after). The sweep runs in a
fresh subprocess (`--child`) that imports and creates the app on the copy, enters an app context,
notes its RSS (the baseline), then calls `crm.followups.reminders.sweep(NOW)` once and reports
its wall and CPU time (perf_counter, process_time around the call), the decided and message
counts, the batches (database COMMITs) and SQL statements sent, and its peak RSS: VmHWM of
/proc/self/status (the peak of the child's own memory), and that peak less the baseline (the
sweep's own cost). getrusage(RUSAGE_SELF).ru_maxrss is in the child's JSON too but is not the
figure: on Linux it keeps the parent's peak across fork and exec (a child started by a parent
of 400 MB reports at least 400 MB).

The parent then checks the copy: exactly the 100,000 due follow-ups changed, each moved to
stage 2 at stage_times(...)[2]; one new message per decision, keyed
`followup:<id>:r1:s1:<assignee's user>`, in the follow-up's workspace; no duplicate key in the
table; one audit event per new message. It prints the plan of the claim query (the very
statement of reminders._claim: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL), which must
use ix_follow_ups_next_stage_at.
Target: under 60 s and under 300 MB peak RSS (the child process's, in total).

On PostgreSQL: BENCH_SWEEP_DATABASE_URL=postgresql+psycopg://.../inreach_bench_sweep, or
BENCH_DATABASE_URL (the page benchmark's variable) whose server is used with the database
inreach_bench_sweep (`make bench DB=postgres`). Neither set: SQLite.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import make_url

from config import load_config
from tests.benchmarks import seed_sweep
from tests.benchmarks.seed import CACHE_DIR

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 300.0
INDEX = "ix_follow_ups_next_stage_at"
EXPECTED_DUE = seed_sweep.WORKSPACES * seed_sweep.DUE


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- the child: one sweep, measured ---------------------------------------------------------


def memory_kib() -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of this process, in KiB (Linux)."""
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                found[line.split(":")[0]] = int(line.split()[1])
    return found


def child(
    url: str, now: datetime, batch_size: int | None, max_batches: int | None, profile: bool
) -> int:
    """Runs in the subprocess: create the app on the copy, sweep once, print RESULT {json}."""
    from crm.extensions import db
    from crm.followups.reminders import sweep
    from tests.benchmarks.seed import make_app

    app = make_app(url)
    counts = {"statements": 0, "commits": 0}

    def count_statement(*_args):
        counts["statements"] += 1

    def count_commit(_connection):  # the database's COMMIT, not a savepoint's release
        counts["commits"] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count_statement)
        event.listen(db.engine, "commit", count_commit)
        baseline = memory_kib()
        kwargs = {"max_batches": max_batches}
        if batch_size is not None:
            kwargs["batch_size"] = batch_size
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        wall, cpu = time.perf_counter(), time.process_time()
        result = sweep(now, **kwargs)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
        end = memory_kib()
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        db.session.remove()
        db.engine.dispose()
    if profiler is not None:
        import pstats

        stats = pstats.Stats(profiler, stream=sys.stdout)
        print("\n## cProfile of the sweep (cumulative, top 45)")
        stats.sort_stats("cumulative").print_stats(45)
        print("## cProfile of the sweep (own time, top 30)")
        stats.sort_stats("tottime").print_stats(30)
    report = {
        "wall": wall,
        "cpu": cpu,
        "decided": result.decided,
        "messages": result.messages,
        "batches": counts["commits"],
        "statements": counts["statements"],
        "baseline_rss_kib": baseline["VmRSS"],
        "baseline_peak_kib": baseline["VmHWM"],
        "peak_kib": end["VmHWM"],
        "end_rss_kib": end["VmRSS"],
        "ru_maxrss_kib": maxrss,
    }
    print("RESULT " + json.dumps(report), flush=True)
    return 0


# --- the parent: copies, runs, checks -------------------------------------------------------


@dataclass
class Run:
    number: int
    report: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    process_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            not self.problems
            and self.report["wall"] < TARGET_SECONDS
            and self.report["peak_kib"] / 1024 < TARGET_PEAK_MB
        )


class Copies:
    """A fresh copy of the seeded database for each run."""

    def __init__(self, seeded_url: str):
        self.seeded = make_url(seeded_url)
        self.postgres = self.seeded.get_backend_name() == "postgresql"

    def make(self) -> str:
        if self.postgres:
            name = f"{self.seeded.database}_run"
            admin = self._admin()
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                connection.exec_driver_sql(
                    f'CREATE DATABASE "{name}" TEMPLATE "{self.seeded.database}"'
                )
            admin.dispose()
            return self.seeded.set(database=name).render_as_string(hide_password=False)
        source = Path(self.seeded.database)
        target = CACHE_DIR / source.name.replace("sweep-", "sweep-run-", 1)
        self.drop_sqlite(target)
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        target = make_url(url)
        if self.postgres:
            admin = self._admin()
            with admin.connect() as connection:
                connection.exec_driver_sql(
                    f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'
                )
            admin.dispose()
        else:
            self.drop_sqlite(Path(target.database))

    @staticmethod
    def drop_sqlite(path: Path) -> None:
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)

    def _admin(self):
        return create_engine(self.seeded.set(database="postgres"), isolation_level="AUTOCOMMIT")


def claim_plan(engine, now: datetime, batch_size: int) -> tuple[str, list[str]]:
    """The claim statement as the sweep sends it, and its plan."""
    from crm.followups.reminders import claim_statement

    captured: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _executemany):
        captured.append((statement, parameters))

    statement = claim_statement(now, batch_size, engine.dialect.name)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        event.listen(engine, "before_cursor_execute", capture)
        try:
            connection.execute(statement).fetchall()
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        sql, parameters = captured[-1]
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        plan = connection.exec_driver_sql(prefix + sql, parameters).fetchall()
        connection.rollback()  # PostgreSQL: the rows locked FOR UPDATE above
    lines = [str(row[-1]) if sqlite else str(row[0]) for row in plan]
    return " ".join(sql.split()) + f"   -- {parameters}", lines


@dataclass
class Before:
    due: dict[int, tuple]  # id -> (workspace id, round, due_at, zone, assignee's user id)
    plans: dict[int, tuple]  # id -> (next_stage, next_stage_at) of every planned follow-up
    last_message_id: int
    message_audits: int


def _plans(connection) -> dict[int, tuple]:
    from crm.followups.models import FollowUp

    table = FollowUp.__table__
    rows = connection.execute(
        select(table.c.id, table.c.next_stage, table.c.next_stage_at).where(
            table.c.next_stage.is_not(None)
        )
    )
    return {row.id: (row.next_stage, row.next_stage_at) for row in rows}


def _message_audits(connection) -> int:
    from crm.audit.models import AuditEvent

    table = AuditEvent.__table__
    return connection.execute(
        select(func.count()).where(table.c.record_type == "Message", table.c.action == "create")
    ).scalar_one()


def before_sweep(engine, now: datetime) -> Before:
    from crm.followups.models import FollowUp
    from crm.followups.reminders import LIVE
    from crm.messaging.models import Message
    from crm.workspaces.models import Membership

    f, m = FollowUp.__table__, Membership.__table__
    with engine.connect() as connection:
        due = {
            row.id: (row.workspace_id, row.reminder_round, row.due_at, row.timezone, row.user_id)
            for row in connection.execute(
                select(
                    f.c.id,
                    f.c.workspace_id,
                    f.c.reminder_round,
                    f.c.due_at,
                    f.c.timezone,
                    m.c.user_id,
                )
                .join(m, m.c.id == f.c.assignee_id)
                .where(f.c.next_stage_at <= now, f.c.status.in_([s.value for s in LIVE]))
            )
        }
        plans = _plans(connection)
        last = connection.execute(select(func.max(Message.__table__.c.id))).scalar() or 0
        audits = _message_audits(connection)
    return Before(due, plans, last, audits)


def check(engine, now: datetime, before: Before, report: dict) -> list[str]:
    """What the sweep must have done, exactly; the problems found (none when right)."""
    from crm.followups.reminders import Settings, stage_times
    from crm.messaging.models import Message

    problems = []
    if len(before.due) != EXPECTED_DUE:
        problems.append(
            f"{len(before.due):,} follow-ups due before the sweep, not {EXPECTED_DUE:,}"
        )
    if report["decided"] != len(before.due):
        problems.append(f"decided {report['decided']:,} of {len(before.due):,} due")
    if report["messages"] != len(before.due):
        problems.append(f"{report['messages']:,} messages for {len(before.due):,} decisions")
    msg = Message.__table__
    with engine.connect() as connection:
        after = _plans(connection)
        new = connection.execute(
            select(msg.c.idempotency_key, msg.c.workspace_id, msg.c.recipient_user_id).where(
                msg.c.id > before.last_message_id
            )
        ).all()
        total, distinct = connection.execute(
            select(func.count(), func.count(msg.c.idempotency_key.distinct()))
        ).one()
        audits = _message_audits(connection) - before.message_audits
    changed = {i for i in set(before.plans) | set(after) if before.plans.get(i) != after.get(i)}
    if changed != set(before.due):
        problems.append(
            f"{len(changed - set(before.due)):,} follow-ups changed that were not due, "
            f"{len(set(before.due) - changed):,} due ones unchanged"
        )
    settings = Settings()
    wrong_plan = 0
    for follow_up_id, (_ws, _round, due_at, zone, _user) in before.due.items():
        expected = (2, stage_times(due_at, zone, settings)[2])
        if after.get(follow_up_id) != expected or expected[1] <= now:
            wrong_plan += 1
    if wrong_plan:
        problems.append(f"{wrong_plan:,} decided follow-ups not moved to stage 2 as planned")
    expected_messages = {
        f"followup:{i}:r{r}:s1:{user}": (ws, user)
        for i, (ws, r, _d, _z, user) in before.due.items()
    }
    found = {row.idempotency_key: (row.workspace_id, row.recipient_user_id) for row in new}
    if len(new) != len(found) or found != expected_messages:
        problems.append(
            f"{len(new):,} new messages ({len(found):,} keys); "
            f"{sum(1 for k in expected_messages if found.get(k) != expected_messages[k]):,} "
            "expected ones missing or wrong"
        )
    if total != distinct:
        problems.append(f"duplicate idempotency keys: {total - distinct:,}")
    if audits != len(new):
        problems.append(f"{audits:,} audit events for {len(new):,} new messages")
    return problems


def run_once(number: int, copies: Copies, now: datetime, args, explain: bool) -> tuple[Run, list]:
    run = Run(number)
    url = copies.make()
    plan: list = []
    try:
        engine = create_engine(url)
        if explain:
            batch_size = args.batch_size or load_config("development")["SWEEP_BATCH_SIZE"]
            plan = [claim_plan(engine, now, batch_size)]
        before = before_sweep(engine, now)
        engine.dispose()
        command = [sys.executable, "-m", "tests.benchmarks.bench_sweep", "--child", url]
        command += ["--now", now.isoformat()]
        if args.batch_size:
            command += ["--batch-size", str(args.batch_size)]
        if args.max_batches:
            command += ["--max-batches", str(args.max_batches)]
        if args.profile:
            command.append("--profile")
        log(f"run {number}: sweeping in a subprocess ...")
        started = time.perf_counter()
        process = subprocess.run(
            command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
        )
        run.process_seconds = time.perf_counter() - started
        lines = process.stdout.splitlines()
        results = [line for line in lines if line.startswith("RESULT ")]
        if process.returncode != 0 or not results:
            sys.stderr.write(process.stderr)
            raise RuntimeError(f"the sweep's process failed ({process.returncode})")
        for line in lines:
            if not line.startswith("RESULT "):
                print(line)
        run.report = json.loads(results[-1][len("RESULT ") :])
        log(
            f"run {number}: sweep {run.report['wall']:.1f} s (the process, start-up included: "
            f"{run.process_seconds:.1f} s), {run.report['decided']:,} decided; checking the copy"
        )
        engine = create_engine(url)
        if args.max_batches:
            run.problems = [f"partial: at most {args.max_batches} batches, not checked"]
        else:
            run.problems = check(engine, now, before, run.report)
        engine.dispose()
    finally:
        if args.keep:
            log(f"kept {url}")
        else:
            copies.drop(url)
    return run, plan


# --- reporting ------------------------------------------------------------------------------


def mb(kib: int) -> str:
    return f"{kib / 1024:.0f}"


def report(runs: list[Run], dialect: str, seeding: float) -> str:
    lines = [
        "| database | run | sweep s | CPU s | decided | messages | batches | statements "
        "| peak RSS MB | baseline MB | peak above baseline MB | checks | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for run in runs:
        r = run.report
        lines.append(
            f"| {dialect} | {run.number} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['decided']:,} "
            f"| {r['messages']:,} | {r['batches']} | {r['statements']:,} | {mb(r['peak_kib'])} "
            f"| {mb(r['baseline_rss_kib'])} | {mb(r['peak_kib'] - r['baseline_rss_kib'])} "
            f"| {'ok' if not run.problems else '; '.join(run.problems)} "
            f"| {'ok' if run.ok else 'MISS'} |"
        )
    lines.append("")
    lines.append(
        f"database ready in {seeding:.1f} s; target: under {TARGET_SECONDS:.0f} s and under "
        f"{TARGET_PEAK_MB:.0f} MB peak RSS; baseline = RSS after importing and creating the app, "
        "before the sweep"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="sweeps, each on a fresh copy")
    parser.add_argument("--batch-size", type=int, help="the sweep's batch size (default its own)")
    parser.add_argument("--profile", action="store_true", help="cProfile the sweep (slower)")
    parser.add_argument("--keep", action="store_true", help="keep the run's database copy")
    parser.add_argument("--max-batches", type=int, help="stop after N batches (no checks)")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now) if args.now else seed_sweep.NOW
    if args.child:
        return child(args.child, now, args.batch_size, args.max_batches, args.profile)

    from tests.benchmarks.bench_pages import machine
    from tests.benchmarks.seed import make_app

    started = time.perf_counter()
    seeded = seed_sweep.prepare(seed_sweep.postgres_url_from_env())
    seeding = time.perf_counter() - started
    log(f"database ready in {seeding:.1f} s")
    make_app(seeded.database_url)  # every model mapped (it connects to nothing)

    copies = Copies(seeded.database_url)
    runs, plans = [], []
    for number in range(1, args.runs + 1):
        run, plan = run_once(number, copies, now, args, explain=number == 1)
        runs.append(run)
        plans += plan

    engine = create_engine(seeded.database_url)
    dialect = engine.dialect.name
    server = ""
    if dialect == "postgresql":
        with engine.connect() as connection:
            server = "PostgreSQL " + connection.exec_driver_sql("SHOW server_version").scalar()
    engine.dispose()
    print()
    print(
        f"## Sweep: {EXPECTED_DUE:,} due among "
        f"{seed_sweep.WORKSPACES * seed_sweep.FOLLOW_UPS_PER_WORKSPACE:,} follow-ups "
        f"({seed_sweep.WORKSPACES} workspaces), {dialect}, NOW = {now.isoformat()}"
    )
    print()
    print("\n".join(machine(dialect, server)))
    print()
    print(report(runs, dialect, seeding))
    for sql, lines in plans:
        print(f"\nClaim query: {sql}")
        for line in lines:
            print("    " + line)
        print(f"    uses {INDEX}: {'yes' if any(INDEX in line for line in lines) else 'NO'}")
    # a missed target is reported (MISS), a failed check is a bug: the exit status says so
    return 1 if any(run.problems for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
