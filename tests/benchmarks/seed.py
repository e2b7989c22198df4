"""The benchmark database: two workspaces of 100,000 organizations and 300,000 contacts each.

Built once by the migrations and bulk inserts (SQLAlchemy Core `insert()` executemany in batches),
then cached: a SQLite file in tests/benchmarks/.cache/ whose name carries the cache key, or, on
PostgreSQL (`BENCH_DATABASE_URL`), a database that records its key in a `bench_seed` table. The key
is SEED_VERSION plus the migration head, so a new migration or a change here rebuilds it.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from flask_migrate import upgrade
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

import crm.auth.passwords
from crm import MIGRATIONS_DIR, create_app
from crm.extensions import db
from crm.partners.models import OrganizationKind

SEED_VERSION = "3"  # bump when the data below changes
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
WORKSPACES = (("Bench County Jail", "America/Chicago"), ("Bench Regional Coalition", "UTC"))
ORGANIZATIONS = 100_000  # per workspace
CONTACTS_PER_ORGANIZATION = 3
FOLLOW_UPS_OPEN = 3_000  # per workspace, assigned to the bench user, due around now
FOLLOW_UPS_DONE = 1_000  # per workspace, done (the status filter must skip them)
BATCH = 10_000
BENCH_EMAIL = "bench@example.org"
BENCH_PASSWORD = "bench-password-not-secret"
SEED = 20_240_601


def _words(text: str) -> list[str]:
    """Words of a list written as text; a hyphen joins the words of one entry."""
    return [word.replace("-", " ") for word in text.split()]


# Names combine three lists, so a prefix is selective: "maple" matches about one organization
# in 105 (950 a workspace), "maple re" about one in 1,200.
PLACES = _words(
    """Abbey Acorn Alder Amber Anchor Apple Arbor Ash Aspen Aurora Autumn Bay Beacon Bear Birch
Blue Bridge Brook Canyon Cardinal Cedar Centennial Clear Clover Coral Cottonwood Creek Crescent
Crossroads Cypress Dawn Dogwood Eagle Elm Evergreen Fair Falcon Fern Forest Fox Garden Gateway
Glen Golden Granite Green Harbor Harmony Harvest Haven Hawthorn Heritage Hickory Highland Hill
Hope Horizon Iris Ivy Juniper Lake Landmark Laurel Liberty Lighthouse Lily Linden Magnolia Maple
Meadow Mesa Mill Morning North Oak Orchard Pathway Pebble Pine Pioneer Prairie Quarry Rainbow
Raven Redwood Ridge River Rock Rose Sage Shore Silver Spring Spruce Star Stone Summit Sunrise
Sycamore Thistle Timber Trinity Valley Victory Vista Walnut West Willow Wren"""
)
THEMES = _words(
    """Women's Family Community Recovery Renewal Reentry Hope Healing Pathways New-Start
Second-Chance Wellness Justice Outreach Restoration Grace Bridges Youth Veterans Neighborhood
Sisters Mothers Faith Unity Freedom Open-Door Living-Water Safe-Harbor Fresh-Start
Good-Shepherd"""
)
TYPES = _words(
    """Center Alliance Network Coalition Collective Project Fellowship Ministries Services
Foundation Partnership Council House Clinic Institute Initiative Society Association League
Circle Program Works Trust"""
)
FIRST_NAMES = _words(
    """Aaliyah Adriana Alicia Amanda Angela Anita Beatriz Brenda Carla Carmen Chloe Claire
Dana Deborah Denise Diana Elena Erica Fatima Gloria Grace Hannah Irene Jasmine Jessica Joyce Julia
Karen Keisha Latoya Laura Linda Lucia Maria Marisol Megan Monica Nadia Naomi Olivia Patricia
Paula Rachel Renee Rosa Ruth Sandra Sara Sharon Sonia Tamara Teresa Valerie Vanessa Wanda Yolanda
Aaron Andre Brian Carlos David Derek Edward Felipe Gregory Isaac James Jamal Jose Kevin Luis
Marcus Michael Nathan Omar Paul Raymond Robert Samuel Terrence Victor William"""
)
LAST_NAMES = _words(
    """Adams Alvarez Anderson Baker Banks Bell Brooks Brown Campbell Carter Castillo Chavez
Clark Coleman Collins Cruz Davis Diaz Edwards Evans Flores Foster Garcia Gomez Gonzalez Gray
Green Griffin Hall Harris Hayes Henderson Hernandez Hill Howard Hughes Jackson James Jenkins
Johnson Jones Kelly Kim King Lee Lewis Long Lopez Martin Martinez Miller Mitchell Moore Morales
Morgan Murphy Nelson Nguyen Ortiz Parker Patel Perez Peterson Phillips Powell Price Ramirez Reed
Reyes Richardson Rivera Roberts Robinson Rodriguez Rogers Ross Russell Sanchez Sanders Scott
Smith Stewart Sullivan Taylor Thomas Thompson Torres Turner Walker Ward Washington Watson White
Williams Wilson Wood Wright Young"""
)
TITLES = _words(
    """Director Program-Manager Volunteer-Coordinator Case-Manager Chaplain Counselor
Facilitator Peer-Mentor Outreach-Worker Executive-Director Clinical-Supervisor
Volunteer"""
)
MISSIONS = (
    "Helps women leaving jail find housing, work and a community that expects them back.",
    "Peer-led recovery meetings inside the facility and a warm hand-off after release.",
    "Parenting classes and supervised family visits that keep children and mothers connected.",
    "Trauma-informed counseling for survivors, inside and after release.",
    "Job readiness, resumes and employer introductions for people coming home.",
)
# Spread like a real pipeline: most organizations identified or researched, few ended.
STAGE_WEIGHTS = {
    "identified": 30,
    "researched": 20,
    "contacted": 15,
    "toured": 10,
    "cross_trained": 7,
    "agreement": 5,
    "active": 8,
    "paused": 3,
    "ended": 2,
}
KINDS = [kind.value for kind in OrganizationKind]


@dataclass(frozen=True)
class Seeded:
    database_url: str
    workspace_ids: tuple[int, ...]
    membership_ids: tuple[int, ...]
    email: str = BENCH_EMAIL
    password: str = BENCH_PASSWORD


def use_cheap_hasher() -> None:
    """Argon2 at a test cost (like tests/conftest.py): the bench user's hash is made and checked
    with it, so logging in costs nothing worth measuring."""
    crm.auth.passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def migration_head() -> str:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head() or "base"


def cache_key() -> str:
    return f"v{SEED_VERSION}-{migration_head()}"


def make_app(database_url: str):
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})


def log(message: str) -> None:
    print(f"[seed] {message}", flush=True)


# --- the cache ------------------------------------------------------------------------------


def prepare(postgres_url: str | None = None) -> Seeded:
    """The seeded database, built now if the cache is missing or stale."""
    use_cheap_hasher()
    return _describe(cached_database("bench", cache_key(), _build, postgres_url))


def cached_database(
    name: str, key: str, build: Callable[[str], None], postgres_url: str | None = None
) -> str:
    """The URL of a database `build(url)` made for this `key`, built now if the cache is
    missing or stale: a SQLite file `<name>-<key>.db` in CACHE_DIR, or the PostgreSQL database
    of `postgres_url`, which records its key in a `bench_seed` table."""
    if postgres_url:
        return _cached_postgres(postgres_url, key, build)
    CACHE_DIR.mkdir(exist_ok=True)
    path = CACHE_DIR / f"{name}-{key}.db"
    if path.exists():
        log(f"using cached {path.name}")
        return f"sqlite:///{path}"
    for old in CACHE_DIR.glob(f"{name}-*.db*"):  # stale keys, a half-built file, run copies
        old.unlink()
    building = CACHE_DIR / f"{name}-building-{key}.db"
    build(f"sqlite:///{building}")
    for leftover in CACHE_DIR.glob(f"{building.name}-*"):  # -wal, -shm (checkpointed)
        leftover.unlink()
    building.rename(path)
    return f"sqlite:///{path}"


def _cached_postgres(url: str, key: str, build: Callable[[str], None]) -> str:
    target = make_url(url)
    engine = create_engine(target)
    try:
        with engine.connect() as connection:
            current = connection.execute(text("SELECT key FROM bench_seed")).scalar()
    except Exception:  # no such database or table: build it
        current = None
    finally:
        engine.dispose()
    if current == key:
        log(f"using cached PostgreSQL database {target.database} ({key})")
        return url
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()
    build(url)
    engine = create_engine(target)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_seed (key text NOT NULL)"))
        connection.execute(text("INSERT INTO bench_seed (key) VALUES (:key)"), {"key": key})
    engine.dispose()
    return url


def _describe(url: str) -> Seeded:
    from crm.auth.models import User
    from crm.tenancy import all_workspaces
    from crm.workspaces.models import Membership

    app = make_app(url)
    with app.app_context(), all_workspaces():
        user_id = db.session.execute(select(User.id).where(User.email == BENCH_EMAIL)).scalar_one()
        rows = db.session.execute(
            select(Membership.workspace_id, Membership.id)
            .where(Membership.user_id == user_id)
            .order_by(Membership.workspace_id)
        ).all()
        db.session.remove()
        db.engine.dispose()
    return Seeded(url, tuple(r[0] for r in rows), tuple(r[1] for r in rows))


# --- building -------------------------------------------------------------------------------


def _build(url: str) -> None:
    from crm.auth.models import User
    from crm.auth.services import create_user
    from crm.roles import Role
    from crm.tenancy import all_workspaces, workspace_context
    from crm.workspaces.services import add_membership, create_workspace

    started = time.perf_counter()
    app = make_app(url)
    with app.app_context():
        upgrade()
        log(f"migrated to {migration_head()} in {time.perf_counter() - started:.1f} s")
        user_id = create_user(BENCH_EMAIL, BENCH_PASSWORD, "Bench Staff").id
        db.session.commit()
        spaces = []
        for name, zone in WORKSPACES:
            workspace = create_workspace(name, zone)
            workspace_id = workspace.id
            with workspace_context(workspace_id):
                membership = add_membership(db.session.get(User, user_id), Role.STAFF)
                spaces.append((workspace_id, zone, membership.id))
                db.session.commit()
                db.session.expunge_all()  # no expired record of this workspace left behind
        db.session.remove()

        rng = random.Random(SEED)
        now = datetime.now(UTC).replace(microsecond=0)
        engine = db.engine
        with all_workspaces():
            next_org, next_contact, next_follow_up = 1, 1, 1
            for workspace_id, zone, membership_id in spaces:
                org_ids, public_ids = _insert_organizations(
                    engine, rng, now, workspace_id, membership_id, next_org
                )
                next_org += len(org_ids)
                next_contact = _insert_contacts(
                    engine, rng, now, workspace_id, org_ids, next_contact
                )
                next_follow_up = _insert_follow_ups(
                    engine, rng, now, workspace_id, zone, membership_id, public_ids, next_follow_up
                )
                log(f"workspace {workspace_id} done at {time.perf_counter() - started:.1f} s")
        finish(engine, ("organizations", "contacts", "follow_ups"))
        engine.dispose()
    log(f"built in {time.perf_counter() - started:.1f} s")


def _batches(rows_iter, size=BATCH):
    batch = []
    for row in rows_iter:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(engine, table, rows_iter, label: str, total: int) -> None:
    started = time.perf_counter()
    done = 0
    for batch in _batches(rows_iter):
        with engine.begin() as connection:
            connection.execute(insert(table), batch)
        done += len(batch)
        if done % 100_000 == 0 or done == total:
            rate = done / (time.perf_counter() - started)
            log(f"  {label}: {done:,}/{total:,} ({rate:,.0f} rows/s)")


def _insert_organizations(engine, rng, now, workspace_id, membership_id, first_id):
    from crm.partners.models import Organization, name_key

    stages, weights = zip(*STAGE_WEIGHTS.items(), strict=True)
    ids = list(range(first_id, first_id + ORGANIZATIONS))
    public_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in ids]

    def rows():
        for organization_id, public_id in zip(ids, public_ids, strict=True):
            name = f"{rng.choice(PLACES)} {rng.choice(THEMES)} {rng.choice(TYPES)}"
            if rng.random() < 0.3:
                name += f" of {rng.choice(PLACES)} County"
            created = now - timedelta(days=rng.uniform(0, 900))
            slug = name_key(name).replace(" ", "").replace("'", "")[:40]
            yield {
                "id": organization_id,
                "workspace_id": workspace_id,
                "public_id": public_id,
                "name": name,
                "name_key": name_key(name),
                "kind": rng.choice(KINDS),
                "stage": rng.choices(stages, weights)[0],
                "mission": rng.choice(MISSIONS),
                "interests": "",
                "owner_id": membership_id if rng.random() < 0.2 else None,
                "website": f"https://{slug}.example.org",
                "email": f"info@{slug}.example.org",
                "phone": f"+1 555 {rng.randrange(1000000):07d}",
                "phone_alt": "",
                "address": f"{rng.randrange(1, 9999)} {rng.choice(PLACES)} Street",
                "values": "",
                "clients_served": "",
                "archived_at": None,
                "created_at": created,
                "updated_at": created,
            }

    _insert(engine, Organization.__table__, rows(), "organizations", ORGANIZATIONS)
    return ids, public_ids


def _insert_contacts(engine, rng, now, workspace_id, org_ids, first_id) -> int:
    from crm.partners.models import Contact, name_key

    total = len(org_ids) * CONTACTS_PER_ORGANIZATION

    def rows():
        contact_id = first_id
        for organization_id in org_ids:
            for _ in range(CONTACTS_PER_ORGANIZATION):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                name = f"{first} {last}"
                created = now - timedelta(days=rng.uniform(0, 900))
                yield {
                    "id": contact_id,
                    "workspace_id": workspace_id,
                    "public_id": uuid.UUID(int=rng.getrandbits(128), version=4),
                    "organization_id": organization_id,
                    "name": name,
                    "name_key": name_key(name),
                    "title": rng.choice(TITLES),
                    "email": f"{first.lower()}.{last.lower()}{contact_id}@example.org",
                    "phone": f"+1 555 {rng.randrange(1000000):07d}",
                    "phone_alt": "",
                    "user_id": None,
                    "notes": "",
                    "archived_at": None,
                    "created_at": created,
                    "updated_at": created,
                }
                contact_id += 1

    _insert(engine, Contact.__table__, rows(), "contacts", total)
    return first_id + total


def _insert_follow_ups(
    engine, rng, now, workspace_id, zone, membership_id, public_ids, first_id
) -> int:
    from crm.followups.models import FollowUp

    total = FOLLOW_UPS_OPEN + FOLLOW_UPS_DONE
    actions = ("Call", "Email", "Send the MOU draft to", "Invite for a tour:", "Check in with")

    def rows():
        for n in range(total):
            done = n >= FOLLOW_UPS_OPEN
            due = now + timedelta(hours=rng.uniform(-30 * 24, 30 * 24))
            created = due - timedelta(days=rng.uniform(1, 60))
            yield {
                "id": first_id + n,
                "workspace_id": workspace_id,
                "public_id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "subject_kind": "organization",
                "subject_id": rng.choice(public_ids),
                "title": f"{rng.choice(actions)} {rng.choice(FIRST_NAMES)}",
                "notes": "",
                "assignee_id": membership_id,
                "created_by_id": membership_id,
                "due_at": due,
                "timezone": zone,
                "status": "done" if done else "open",
                "completed_at": due if done else None,
                "completion_note": "",
                "cadence_rrule": None,
                "cadence_days": 14 if rng.random() < 0.1 else None,
                "previous_id": None,
                "created_at": created,
                "updated_at": created,
            }

    _insert(engine, FollowUp.__table__, rows(), "follow-ups", total)
    return first_id + total


def finish(engine, tables: tuple[str, ...]) -> None:
    """SQLite: the WAL folded into the file (runs copy or reuse it). PostgreSQL: the sequences
    of `tables` past the explicit ids, and statistics (autovacuum would gather them soon after
    a real import)."""
    if engine.dialect.name != "postgresql":
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        return
    with engine.begin() as connection:
        for table in tables:
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
    log("PostgreSQL: sequences set, VACUUM ANALYZE done")


if __name__ == "__main__":
    prepare(os.environ.get("BENCH_DATABASE_URL"))
