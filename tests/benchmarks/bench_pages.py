"""Server time of the main pages on a large workspace, against the floor of the same run.

    python -m tests.benchmarks.bench_pages [--requests 200] [--rounds 3]   (or `make bench`)
        [--explain LABEL]: each statement of the pages so labelled, timed, with its plan
        [--profile LABEL]: cProfile of their requests

Not part of `make test` (pytest collects test_*.py only). Seeds, or reuses, the cached database of
tests/benchmarks/seed.py: two workspaces of 100,000 organizations and 300,000 contacts each, and
a few thousand follow-ups of the bench user. Logged in through the test client as that staff
user, for each page: warm-up, then N requests timed with perf_counter around `client.get`
(median, p95; CPU time too) and the SQL statements each sends (an engine `before_cursor_execute`
counter; BEGIN and savepoints left out). The floor, in the same run and in turns with the page's
requests: (a) SQL: the SELECTs one request of the page sent, captured with their parameters and
replayed raw through the same engine (`exec_driver_sql`, every row fetched, one connection);
(b) render: a bare Flask app whose one route renders a 50-row Jinja table of the organizations
of list page 1 (link, name, kind, stage), through its own test client.
Ratio = page median / (SQL floor median + render floor median).
Target: each page within 3x of its floor and under 10 ms median on SQLite, with constant queries.
A page that answers 404 is reported missing, one that fails is reported failing: rerun later.

On PostgreSQL: BENCH_DATABASE_URL=postgresql+psycopg://... (`make bench DB=postgres`).
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import platform
import pstats
import re
import sqlite3
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy
from flask import Flask, render_template, url_for
from jinja2 import DictLoader
from sqlalchemy import event, select

from crm.extensions import db
from tests.benchmarks import seed

TARGET_RATIO = 3.0
TARGET_MEDIAN_MS = 10.0
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
NOT_COUNTED = ("BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK TO")
SEARCH_PREFIX = "Maple"  # about 1 organization in 105: ~950 per workspace, page 1 shows 50


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)


@dataclass
class Page:
    label: str
    urls: list[str]  # requests cycle through them (the organization page: 200 organizations)
    missing: str = ""
    page: Timings = field(default_factory=Timings)
    sql_floor: Timings = field(default_factory=Timings)
    render_floor: Timings = field(default_factory=Timings)
    counts: list[int] = field(default_factory=list)
    captured: dict[str, list[tuple[str, object]]] = field(default_factory=dict)


# --- counting and capturing statements ------------------------------------------------------


class Recorder:
    """Every statement the engine sends, with its parameters, while `on` is set."""

    def __init__(self, engine):
        self.on = False
        self.statements: list[tuple[str, object]] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, parameters, _context, _executemany):
        if self.on and not statement.lstrip().upper().startswith(NOT_COUNTED):
            self.statements.append((statement, parameters))

    def start(self) -> None:
        self.statements = []
        self.on = True

    def stop(self) -> list[tuple[str, object]]:
        self.on = False
        return self.statements


# --- the app under test ---------------------------------------------------------------------


def login(app, seeded: seed.Seeded):
    client = app.test_client()
    page = client.get("/login")
    token = CSRF_META.search(page.get_data(as_text=True)).group(1)
    response = client.post(
        "/login", data={"email": seeded.email, "password": seeded.password, "csrf_token": token}
    )
    if response.status_code != 302:
        sys.exit(f"login failed: {response.status_code} {response.get_data(as_text=True)[:300]}")
    with client.session_transaction() as session:
        workspace_id = session["workspace_id"]
    return client, workspace_id


def pages_of(app, workspace_id: int) -> list[Page]:
    from crm.partners.models import Organization
    from crm.tenancy import all_workspaces

    with app.app_context(), all_workspaces():
        # 200 organizations spread over the workspace (every 500th by id), deterministic
        org_ids = list(
            db.session.execute(
                select(Organization.public_id)
                .where(Organization.workspace_id == workspace_id, Organization.id % 500 == 0)
                .order_by(Organization.id)
            ).scalars()
        )
        db.session.remove()
    return [
        Page("Organization list, page 1", ["/partners/"]),
        Page("List filtered by stage (toured)", ["/partners/?stage=toured"]),
        Page(f"Name-prefix search ({SEARCH_PREFIX!r})", [f"/partners/?q={SEARCH_PREFIX}"]),
        Page("Organization page", [f"/partners/{public_id}" for public_id in org_ids]),
        Page("My follow-ups", ["/follow-ups/"]),
    ]


def timed(action: Callable[[], object]) -> tuple[float, float, object]:
    """Wall-clock and CPU seconds of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def replay(engine, statements: list[tuple[str, object]]) -> None:
    """The SQL floor: the page's statements sent raw, every row fetched, on one connection."""
    with engine.connect() as connection:
        for statement, parameters in statements:
            connection.exec_driver_sql(statement, parameters).fetchall()


def measure_page(
    page: Page, client, floor_client, recorder, engine, requests: int, warmup: int, rounds: int
):
    """Page, SQL floor and render floor in turns, request by request, so that whatever else
    runs on the machine weighs on the three alike. With several rounds, the round of the
    lowest page median is kept (the quietest moment of a shared machine)."""
    status = client.get(page.urls[0]).status_code
    if status != 200:
        page.missing = f"{'missing' if status == 404 else 'fails'}: answers {status}"
        return
    for i in range(warmup):
        client.get(page.urls[i % len(page.urls)])
    for url in page.urls:  # one request of each URL, its statements kept for the SQL floor
        recorder.start()
        client.get(url)
        page.captured[url] = [
            (s, p) for s, p in recorder.stop() if s.lstrip().upper().startswith(("SELECT", "WITH"))
        ]
    best = None
    for _ in range(rounds):
        trial = Page(page.label, page.urls, captured=page.captured)
        for i in range(requests):
            url = page.urls[i % len(page.urls)]
            recorder.start()
            wall, cpu, response = timed(lambda url=url: client.get(url))
            trial.counts.append(len(recorder.stop()))
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            trial.page.add(wall, cpu)
            trial.sql_floor.add(*timed(lambda url=url: replay(engine, page.captured[url]))[:2])
            trial.render_floor.add(*timed(lambda: floor_client.get("/"))[:2])
        if best is None or statistics.median(trial.page.wall) < statistics.median(best.page.wall):
            best = trial
    page.page, page.sql_floor, page.render_floor = best.page, best.sql_floor, best.render_floor
    page.counts = best.counts


# --- the render floor -----------------------------------------------------------------------

FLOOR_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Partners</title></head><body>
<table class="table">
  <thead><tr><th>Name</th><th>Kind</th><th>Stage</th></tr></thead>
  <tbody>
  {% for o in rows %}
    <tr>
      <td><a href="{{ url_for('show', organization_id=o.public_id) }}">{{ o.name }}</a></td>
      <td>{{ o.kind }}</td>
      <td><span class="badge">{{ o.stage }}</span></td>
    </tr>
  {% endfor %}
  </tbody>
</table>
</body></html>
"""


def floor_app(app, workspace_id: int) -> Flask:
    """A plain Flask app (no extensions, no session, no login) whose one page renders the 50
    rows of list page 1: name with a link, kind, stage."""
    from crm.partners.models import Organization
    from crm.tenancy import all_workspaces

    with app.app_context(), all_workspaces():
        rows = [
            dict(row._mapping)
            for row in db.session.execute(
                select(
                    Organization.public_id, Organization.name, Organization.kind, Organization.stage
                )
                .where(Organization.workspace_id == workspace_id)
                .order_by(Organization.name_key, Organization.id)
                .limit(50)
            )
        ]
        db.session.remove()
    for row in rows:
        row["kind"], row["stage"] = row["kind"].label, row["stage"].label

    bare = Flask("bench_floor")
    bare.jinja_loader = DictLoader({"rows.html": FLOOR_TEMPLATE})

    @bare.get("/")
    def index():
        return render_template("rows.html", rows=rows)

    @bare.get("/o/<uuid:organization_id>")
    def show(organization_id):
        return url_for("index")

    return bare


# --- reporting ------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def machine(dialect: str, server_version: str) -> list[str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    database = f"SQLite {sqlite3.sqlite_version}" if dialect == "sqlite" else server_version
    return [
        f"- machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, {database}",
        "- load average at the end: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (other work on the machine weighs on wall times; CPU times are steadier)",
    ]


def report(pages: list[Page], header: list[str], sqlite: bool) -> str:
    """The table. Target: ratio within 3x, and on SQLite a median under 10 ms; the queries
    column shows the least and most statements of one request (a range when they vary)."""
    lines = header + [
        "",
        "| page | median ms | p95 ms | queries | floor SQL median | floor render median "
        "| ratio to floor | CPU ms: page / floor | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    median = statistics.median
    for page in pages:
        if page.missing:
            lines.append(f"| {page.label} | {page.missing} | | | | | | | |")
            continue
        wall, sql, render = (
            median(page.page.wall),
            median(page.sql_floor.wall),
            median(page.render_floor.wall),
        )
        ratio = wall / (sql + render)
        cpu = median(page.page.cpu)
        cpu_floor = median(page.sql_floor.cpu) + median(page.render_floor.cpu)
        low, high = min(page.counts), max(page.counts)
        queries = str(low) if low == high else f"{low}-{high}"
        ok = ratio <= TARGET_RATIO and (wall * 1000 < TARGET_MEDIAN_MS or not sqlite)
        lines.append(
            f"| {page.label} | {ms(wall)} | {ms(p95(page.page.wall))} | {queries} | {ms(sql)} "
            f"| {ms(render)} | {ratio:.1f}x | {ms(cpu)} / {ms(cpu_floor)} "
            f"| {'ok' if ok else 'MISS'} |"
        )
    return "\n".join(lines)


def profile(page: Page, client, requests: int, out: Callable[[str], None]) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(requests):
        client.get(page.urls[i % len(page.urls)])
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    out(f"\n## cProfile of {page.label}, {requests} requests (cumulative, top 40)")
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)


def explain(page: Page, engine, out: Callable[[str], None], runs: int = 50) -> None:
    """Each statement of one request of the page: its median raw time, rows and plan."""
    url = page.urls[0]
    out(f"\n## Statements of {page.label} ({url})")
    sqlite = engine.dialect.name == "sqlite"
    for number, (statement, parameters) in enumerate(page.captured[url], 1):
        times = []
        with engine.connect() as connection:
            for _ in range(runs):
                started = time.perf_counter()
                rows = connection.exec_driver_sql(statement, parameters).fetchall()
                times.append(time.perf_counter() - started)
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            plan = connection.exec_driver_sql(prefix + statement, parameters).fetchall()
        out(f"\n{number}. {ms(statistics.median(times))} ms, {len(rows)} rows: {parameters}")
        out("   " + " ".join(statement.split()))
        for line in plan:
            out("     " + (str(line[-1]) if sqlite else str(line[0])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure each page N times, keep the quietest"
    )
    parser.add_argument(
        "--profile", metavar="LABEL", help="cProfile the pages whose label has this"
    )
    parser.add_argument(
        "--explain", metavar="LABEL", help="time and explain each statement of these pages"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    seeded = seed.prepare(os.environ.get("BENCH_DATABASE_URL") or None)
    seeding = time.perf_counter() - started
    print(f"[bench] database ready in {seeding:.1f} s", flush=True)

    app = seed.make_app(seeded.database_url)
    with app.app_context():
        engine = db.engine
        dialect = engine.dialect.name
        with engine.connect() as connection:
            server_version = (
                ""
                if dialect == "sqlite"
                else "PostgreSQL " + connection.exec_driver_sql("SHOW server_version").scalar()
            )
    recorder = Recorder(engine)
    client, workspace_id = login(app, seeded)
    pages = pages_of(app, workspace_id)
    floor_client = floor_app(app, workspace_id).test_client()

    measuring = time.perf_counter()
    for page in pages:
        print(f"[bench] {page.label} ...", flush=True)
        try:
            measure_page(
                page,
                client,
                floor_client,
                recorder,
                engine,
                args.requests,
                args.warmup,
                args.rounds,
            )
        except Exception as error:  # a page being built right now: report it, measure the rest
            recorder.stop()
            traceback.print_exc()
            page.missing = f"fails: {type(error).__name__}: {error}"[:120]
        if page.missing:
            print(f"[bench]   {page.urls[0]}: {page.missing}", flush=True)
    elapsed = time.perf_counter() - measuring

    header = [
        f"## {dialect}: {args.requests} requests per page after {args.warmup} warm-up"
        + (f", quietest of {args.rounds} rounds" if args.rounds > 1 else ""),
        "",
        *machine(dialect, server_version),
        f"- data: {len(seed.WORKSPACES)} workspaces x {seed.ORGANIZATIONS:,} organizations, "
        f"{seed.ORGANIZATIONS * seed.CONTACTS_PER_ORGANIZATION:,} contacts, "
        f"{seed.FOLLOW_UPS_OPEN + seed.FOLLOW_UPS_DONE:,} follow-ups of the bench user",
        f"- database ready in {seeding:.1f} s; measured in {elapsed:.1f} s",
    ]
    print()
    print(report(pages, header, dialect == "sqlite"))
    if args.explain:
        for page in pages:
            if args.explain.lower() in page.label.lower() and page.captured:
                explain(page, engine, print)
    if args.profile:
        for page in pages:
            if args.profile.lower() in page.label.lower() and not page.missing:
                profile(page, client, args.requests, print)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
