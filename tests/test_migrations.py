"""The migrations build the schema the models describe, from an empty database, and can be
undone: an install or an upgrade gets the tables the code expects."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from crm.extensions import db
from crm.tenancy import GLOBAL_TABLES
from tests import tripwire
from tests.conftest import fresh_database_url, make_test_app, worker_name


@pytest.fixture
def empty_app():
    """An app on an empty database of its own: never the per-test transaction's connection."""
    app = make_test_app(fresh_database_url(f"migrations_{worker_name()}"))
    yield app
    with app.app_context():
        db.engine.dispose()


def differences(app) -> list:
    with app.app_context(), db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), db.metadata)


def tables(app) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_migrations_from_empty_match_the_models_and_go_down_and_up_again(empty_app):
    model_tables = {table.name for table in db.metadata.sorted_tables}
    assert tables(empty_app) == set()
    with empty_app.app_context(), tripwire.allowed():
        upgrade()
    assert tables(empty_app) == model_tables
    assert model_tables >= GLOBAL_TABLES
    assert differences(empty_app) == []

    with empty_app.app_context(), tripwire.allowed():
        downgrade(revision="base")
    assert tables(empty_app) == set()

    with empty_app.app_context(), tripwire.allowed():
        upgrade()
    assert differences(empty_app) == []
