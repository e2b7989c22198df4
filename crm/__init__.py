"""Inreach: the app factory."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g, redirect, url_for

from config import load_config
from crm.database import tune_sqlite
from crm.extensions import bootstrap, csrf, db, limiter, login_manager, migrate
from crm.roles import Role

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def create_app(config: str | dict[str, Any] | None = None) -> Flask:
    """Build the app. `config` is an environment name or a mapping of overrides of the test
    environment's settings. Never starts a scheduler: `inreach run` does."""
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR), instance_relative_config=True)
    if isinstance(config, dict):
        app.config.from_mapping(load_config(config.get("ENV_NAME", "test")))
        app.config.from_mapping(config)
    else:
        app.config.from_mapping(load_config(config))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _defaults_from_instance(app)

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            tune_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    _register_models()
    _register_blueprints(app)

    from crm.audit import recorder

    recorder.init_app(app)

    from crm import cli
    from crm.web import access, errors, security, templating

    cli.register(app)

    security.init_app(app)  # before access: HTTPS redirect ahead of the login redirect
    access.init_app(app)
    errors.init_app(app)
    templating.init_app(app)

    @app.get("/")
    @access.authenticated
    def home():
        # the jail's people start the day on what they must do; partners and viewers, on
        # the organizations they may see
        if g.membership.role in (Role.ADMIN, Role.STAFF):
            return redirect(url_for("followups.index"))
        return redirect(url_for("partners.index"))

    if app.config["SCHEDULER"] == "celery":
        from tasks.celery_app import celery_init_app

        celery_init_app(app)  # tasks can be sent; `inreach worker` / `beat` run them

    access.check_declared(app)
    return app


def _defaults_from_instance(app: Flask) -> None:
    """SQLite in the instance folder, and a development secret key made once and kept there."""
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(app.instance_path) / 'inreach.db'}"
        )
    if not app.config.get("STORAGE_DIR"):
        app.config["STORAGE_DIR"] = str(Path(app.instance_path) / "storage")
    if not app.config.get("SECRET_KEY"):
        if app.config["ENV_NAME"] == "production":
            raise RuntimeError("set INREACH_SECRET_KEY in production")
        key_file = Path(app.instance_path) / "secret_key"
        if not key_file.exists():
            key_file.touch(mode=0o600)
            key_file.write_text(secrets.token_hex(32))
        app.config["SECRET_KEY"] = key_file.read_text().strip()


def _register_models() -> None:
    # Imported for their side effect: every model is mapped before the first query.
    import crm.audit.models  # noqa: F401
    import crm.auth.loader  # noqa: F401
    import crm.auth.models  # noqa: F401
    import crm.facilities.models  # noqa: F401
    import crm.followups.models  # noqa: F401
    import crm.followups.reminders  # noqa: F401  (keeps reminder plans in step on flush)
    import crm.messaging.models  # noqa: F401
    import crm.partners.models  # noqa: F401
    import crm.workspaces.models  # noqa: F401
    import tasks.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from crm.audit.views import bp as audit
    from crm.auth.views import bp as auth
    from crm.facilities.views import bp as facilities
    from crm.followups.views import bp as followups
    from crm.messaging.settings_views import bp as notifications
    from crm.messaging.views import bp as messaging
    from crm.partners.views import bp as partners
    from crm.web.health import bp as health
    from crm.workspaces.views import bp as workspaces

    app.register_blueprint(health)

    # Contacts and the outreach log add their routes to the partners blueprint: imported
    # before the blueprint is registered, or they would be missing from the app.
    import crm.partners.outreach_views  # noqa: F401

    for blueprint in (
        auth,
        workspaces,
        partners,
        facilities,
        followups,
        messaging,
        notifications,
        audit,
    ):
        app.register_blueprint(blueprint)
