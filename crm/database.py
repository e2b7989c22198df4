"""The declarative base and the engine tuning shared by every model and both databases."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, Engine, Enum, MetaData, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.types import TypeDecorator

from crm import clock

# Stable constraint names, so Alembic (and SQLite's batch mode) can find them again.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store times as aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=clock.now, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        default=clock.now, onupdate=clock.now, nullable=False
    )


def enum_column(cls: type[StrEnum], name: str) -> Enum:
    """A string enum stored by value, with a CHECK constraint (portable to both databases)."""
    return Enum(
        cls,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        create_constraint=True,
        name=name,
    )


def new_public_id() -> uuid.UUID:
    return uuid.uuid4()


# SQLite: a request that will write takes the write lock when its transaction begins
# (BEGIN IMMEDIATE), so two writers queue on the busy timeout instead of failing with
# "database is locked" when a read transaction tries to upgrade itself.
write_intent: ContextVar[bool] = ContextVar("inreach_write_intent", default=False)


def tune_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys, and transactions we begin ourselves (not pysqlite)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN, savepoints work
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")
