"""The sweep benchmark's database: 100 workspaces of 10,000 follow-ups each, 1,000,000 in all,
of which 100,000 fall due for a stage decision at NOW.

Built once by the migrations and bulk inserts (SQLAlchemy Core `insert()` executemany in batches
of 10,000), then cached like tests/benchmarks/seed.py: a SQLite file `sweep-<key>.db` in
tests/benchmarks/.cache/, or, on PostgreSQL, a database (by default `inreach_bench_sweep`) that
records its key in a `bench_seed` table. The key is SEED_VERSION plus the migration head.

Each workspace has an admin and four staff members (users bulk-inserted with one precomputed
Argon2 hash), five organizations that the follow-ups are about, and 10,000 follow-ups whose
reminder plan (`next_stage`, `next_stage_at`) is what the flush listener would have written
(crm.followups.reminders.stage_times, the workspace's default settings):

- 1,000 due: open, round 1, next stage 1, due in the day before NOW so that stage 1 has fallen
  due (within working hours) and stage 2 has not: the sweep sends each exactly one message;
- 5,000 done and 900 cancelled: no plan (next_stage_at NULL);
- 2,400 open and 200 snoozed, due in the next 60 days: stage 1 planned after NOW;
- 400 open, already reminded (stage 1, or 1 and 2, in the outbox): the next stage planned
  after NOW;
- 100 open, long overdue and escalated: no plan left.

NOW is a fixed Wednesday, 15:00 UTC: working hours everywhere except Los Angeles (07:00).
"""

from __future__ import annotations

import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.engine import make_url

from tests.benchmarks import seed
from tests.benchmarks.seed import log, make_app, migration_head

SEED_VERSION = "1"  # bump when the data below changes
NOW = datetime(2026, 1, 14, 15, 0, tzinfo=UTC)  # a Wednesday, no daylight-saving change near
WORKSPACES = 100
STAFF_PER_WORKSPACE = 4  # and one admin
ORGANIZATIONS_PER_WORKSPACE = 5
# per workspace: what the rows are (see the module docstring), 10,000 in all
DUE = 1_000
DONE = 5_000
CANCELLED = 900
OPEN_FUTURE = 2_400
SNOOZED = 200
REMINDED = 400
ESCALATED = 100
FOLLOW_UPS_PER_WORKSPACE = DUE + DONE + CANCELLED + OPEN_FUTURE + SNOOZED + REMINDED + ESCALATED
ZONES = ("America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles")
DEFAULT_POSTGRES_DATABASE = "inreach_bench_sweep"
SEED = 20_260_114


@dataclass(frozen=True)
class Seeded:
    database_url: str
    key: str


def cache_key() -> str:
    return f"v{SEED_VERSION}-{migration_head()}"


def prepare(postgres_url: str | None = None) -> Seeded:
    """The seeded database, built now if the cache is missing or stale."""
    key = cache_key()
    return Seeded(seed.cached_database("sweep", key, _build, postgres_url), key)


# --- building -------------------------------------------------------------------------------


@dataclass
class Space:
    id: int
    zone: str
    membership_ids: list[int]
    user_of: dict[int, tuple[int, str]]  # membership id -> user id, email
    organization_public_ids: list[uuid.UUID]


def _build(url: str) -> None:
    from flask_migrate import upgrade

    started = time.perf_counter()
    app = make_app(url)
    with app.app_context():
        from crm.extensions import db

        upgrade()
        log(f"migrated to {migration_head()} in {time.perf_counter() - started:.1f} s")
        engine = db.engine
        rng = random.Random(SEED)
        spaces = _insert_people(engine, rng)
        log(
            f"{WORKSPACES} workspaces, their people and organizations in "
            f"{time.perf_counter() - started:.1f} s"
        )
        _insert_follow_ups(engine, rng, spaces)
        seed.finish(
            engine,
            ("workspaces", "users", "memberships", "organizations", "follow_ups", "messages"),
        )
        engine.dispose()
    log(f"built in {time.perf_counter() - started:.1f} s")


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _insert_people(engine, rng) -> list[Space]:
    from crm.auth.models import User
    from crm.auth.passwords import hash_password
    from crm.partners.models import Organization, name_key
    from crm.workspaces.models import Membership, Workspace

    seed.use_cheap_hasher()
    password_hash = hash_password("sweep-bench-not-a-login")  # one hash for every user
    created = NOW - timedelta(days=400)
    workspaces, users, memberships, organizations, spaces = [], [], [], [], []
    user_id = membership_id = organization_id = 0
    for n in range(1, WORKSPACES + 1):
        zone = ZONES[n % len(ZONES)]
        workspaces.append(
            {
                "id": n,
                "public_id": _uuid(rng),
                "name": f"Sweep County Jail {n}",
                "slug": f"sweep-county-jail-{n}",
                "timezone": zone,
                "created_at": created,
                "reminder_second_after_days": 2,
                "reminder_escalate_after_days": 4,
                "workday_start_hour": 8,
                "workday_end_hour": 17,
            }
        )
        space = Space(n, zone, [], {}, [])
        for role_n in range(STAFF_PER_WORKSPACE + 1):
            role = "admin" if role_n == 0 else "staff"
            user_id += 1
            membership_id += 1
            users.append(
                {
                    "id": user_id,
                    "email": f"{role}{role_n}.jail{n}@example.org",
                    "name": f"{role.capitalize()} {role_n} of jail {n}",
                    "password_hash": password_hash,
                    "session_version": 1,
                    "is_disabled": False,
                    "created_at": created,
                    "failed_logins": 0,
                }
            )
            memberships.append(
                {
                    "id": membership_id,
                    "workspace_id": n,
                    "public_id": _uuid(rng),
                    "user_id": user_id,
                    "role": role,
                    "organization_id": None,
                    "created_at": created,
                }
            )
            space.membership_ids.append(membership_id)
            space.user_of[membership_id] = (user_id, users[-1]["email"])
        for k in range(ORGANIZATIONS_PER_WORKSPACE):
            organization_id += 1
            public_id = _uuid(rng)
            name = f"{rng.choice(seed.PLACES)} {rng.choice(seed.THEMES)} {rng.choice(seed.TYPES)}"
            organizations.append(
                {
                    "id": organization_id,
                    "workspace_id": n,
                    "public_id": public_id,
                    "name": name,
                    "name_key": name_key(name),
                    "kind": rng.choice(seed.KINDS),
                    "stage": "active" if k < 3 else "contacted",
                    "mission": rng.choice(seed.MISSIONS),
                    "interests": "",
                    "owner_id": space.membership_ids[k % len(space.membership_ids)],
                    "website": "",
                    "email": "",
                    "phone": "",
                    "phone_alt": "",
                    "address": "",
                    "values": "",
                    "clients_served": "",
                    "archived_at": None,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            space.organization_public_ids.append(public_id)
        spaces.append(space)
    with engine.begin() as connection:
        connection.execute(insert(Workspace.__table__), workspaces)
        connection.execute(insert(User.__table__), users)
        connection.execute(insert(Membership.__table__), memberships)
        connection.execute(insert(Organization.__table__), organizations)
    return spaces


ACTIONS = ("Call", "Email", "Send the MOU draft to", "Invite for a tour:", "Check in with")


def _insert_follow_ups(engine, rng, spaces: list[Space]) -> None:
    """Follow-ups, and the messages already sent for the ones reminded before NOW."""
    from crm.followups.models import FollowUp
    from crm.followups.reminders import Settings, stage_times
    from crm.messaging.models import Message

    settings = Settings()  # the workspaces keep the defaults
    messages: list[dict] = []
    kinds = (
        ["due"] * DUE
        + ["done"] * DONE
        + ["cancelled"] * CANCELLED
        + ["open"] * OPEN_FUTURE
        + ["snoozed"] * SNOOZED
        + ["reminded"] * REMINDED
        + ["escalated"] * ESCALATED
    )

    def plan_after_now(past: bool, zone: str):
        """A due time and the first stage still ahead of NOW (None if all are past)."""
        while True:
            if past:
                due = NOW - timedelta(minutes=rng.uniform(10, 14 * 24 * 60))
            else:
                due = NOW + timedelta(minutes=rng.uniform(60, 60 * 24 * 60))
            due = due.replace(second=0, microsecond=0)
            times = stage_times(due, zone, settings)
            ahead = [stage for stage in (1, 2, 3) if times[stage] > NOW]
            yield due, times, (ahead[0] if ahead else None)

    def due_now(zone: str):
        """Due in the day before NOW, stage 1 fallen due, stage 2 not yet."""
        while True:
            due = (NOW - timedelta(minutes=rng.uniform(1, 24 * 60))).replace(
                second=0, microsecond=0
            )
            times = stage_times(due, zone, settings)
            if times[1] <= NOW < times[2]:
                return due, times

    def rows():
        follow_up_id = message_id = 0
        for space in spaces:
            past_plans = plan_after_now(True, space.zone)
            future_plans = plan_after_now(False, space.zone)
            order = kinds[:]
            rng.shuffle(order)  # due rows spread over the id range, as in life
            for kind in order:
                follow_up_id += 1
                assignee = rng.choice(space.membership_ids)
                status, completed_at, stage, stage_at = "open", None, None, None
                reminder_round = 1
                if kind == "due":
                    due, times = due_now(space.zone)
                    stage, stage_at = 1, times[1]
                elif kind in ("done", "cancelled"):
                    due = (NOW - timedelta(days=rng.uniform(1, 365))).replace(microsecond=0)
                    if kind == "done":
                        status, completed_at = "done", due + timedelta(hours=rng.uniform(-48, 96))
                    else:
                        status = "cancelled"
                    reminder_round = rng.choice((1, 1, 1, 2))
                elif kind in ("open", "snoozed"):
                    due, times, stage = next(future_plans)
                    stage_at = times[stage]
                    status = kind
                else:  # reminded or escalated: found in the past, earlier stages sent
                    while True:
                        due, times, stage = next(past_plans)
                        if stage in ((2, 3) if kind == "reminded" else (None,)):
                            break
                    stage_at = times[stage] if stage else None
                    sent = [1, 2] if stage == 3 else [1] if stage == 2 else [1, 2, 3]
                    for s in sent:
                        recipients = (
                            [assignee]
                            if s < 3
                            else [m for m in space.membership_ids[:1] if m != assignee]
                        )
                        for member in recipients:
                            message_id += 1
                            messages.append(
                                _message(
                                    rng,
                                    message_id,
                                    space.id,
                                    follow_up_id,
                                    s,
                                    space.user_of[member],
                                    times[s],
                                )
                            )
                created = due - timedelta(days=rng.uniform(1, 60))
                yield {
                    "id": follow_up_id,
                    "workspace_id": space.id,
                    "public_id": _uuid(rng),
                    "subject_kind": "organization",
                    "subject_id": rng.choice(space.organization_public_ids),
                    "title": f"{rng.choice(ACTIONS)} {rng.choice(seed.FIRST_NAMES)}",
                    "notes": "",
                    "assignee_id": assignee,
                    "created_by_id": space.membership_ids[0],
                    "due_at": due,
                    "timezone": space.zone,
                    "status": status,
                    "completed_at": completed_at,
                    "completion_note": "",
                    "cadence_rrule": None,
                    "cadence_days": 14 if rng.random() < 0.1 else None,
                    "reminder_round": reminder_round,
                    "next_stage": stage,
                    "next_stage_at": stage_at,
                    "previous_id": None,
                    "created_at": created,
                    "updated_at": created,
                }

    total = len(spaces) * FOLLOW_UPS_PER_WORKSPACE
    seed._insert(engine, FollowUp.__table__, rows(), "follow-ups", total)
    seed._insert(engine, Message.__table__, iter(messages), "messages", len(messages))


def _message(rng, message_id, workspace_id, follow_up_id, stage, user, at) -> dict:
    from crm.followups.reminders import SUBJECTS

    user_id, email = user

    return {
        "id": message_id,
        "workspace_id": workspace_id,
        "public_id": _uuid(rng),
        "kind": f"followup_stage_{stage}",
        "idempotency_key": f"followup:{follow_up_id}:r1:s{stage}:{user_id}",
        "recipient": email,
        "recipient_user_id": user_id,
        "subject": SUBJECTS[stage],
        "body": f"{SUBJECTS[stage]}.\n\n(seeded)\n",
        "status": "sent",
        "attempts": 1,
        "last_error": "",
        "created_at": at,
        "next_attempt_at": at,
        "claimed_at": at,
        "sent_at": at,
    }


def postgres_url_from_env() -> str | None:
    """BENCH_SWEEP_DATABASE_URL, else BENCH_DATABASE_URL's server with the database
    `inreach_bench_sweep` (never the page benchmark's database), else None: SQLite."""
    url = os.environ.get("BENCH_SWEEP_DATABASE_URL")
    if url:
        return url
    pages = os.environ.get("BENCH_DATABASE_URL")
    if pages:
        return (
            make_url(pages)
            .set(database=DEFAULT_POSTGRES_DATABASE)
            .render_as_string(hide_password=False)
        )
    return None


if __name__ == "__main__":
    prepare(postgres_url_from_env())
