"""The app factory: configuration from the environment, and no scheduler started by it."""

import pytest

from config import load_config
from crm import create_app


def test_env_overrides_settings():
    settings = load_config(
        "development",
        {
            "INREACH_DATABASE_URL": "sqlite:///x.db",
            "INREACH_MAIL_PORT": "2525",
            "INREACH_MAIL_STARTTLS": "false",
            "INREACH_SCHEDULER": "off",
        },
    )
    assert settings["SQLALCHEMY_DATABASE_URI"] == "sqlite:///x.db"
    assert settings["MAIL_PORT"] == 2525
    assert settings["MAIL_STARTTLS"] is False
    assert settings["SCHEDULER"] == "off"


def test_bad_setting_values_are_refused():
    with pytest.raises(ValueError, match="boolean"):
        load_config("development", {"INREACH_MAIL_STARTTLS": "perhaps"})
    with pytest.raises(ValueError, match="unknown environment"):
        load_config("staging", {})


def test_testing_config(app):
    assert app.testing
    assert app.config["BOOTSTRAP_SERVE_LOCAL"] is True


def test_development_secret_key_is_generated_once_and_kept(tmp_path):
    config = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
        "ENV_NAME": "development",
        "SECRET_KEY": None,
    }
    first = create_app(config)
    first.instance_path  # noqa: B018
    second = create_app(config)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 64
    assert first.config["SECRET_KEY"] != "test-secret-key-not-for-production"


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(RuntimeError, match="INREACH_SECRET_KEY"):
        create_app(
            {
                "ENV_NAME": "production",
                "SECRET_KEY": None,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
            }
        )


def test_every_endpoint_declares_who_may_use_it(app):
    from crm.web.access import access_of

    assert all(access_of(app, endpoint) is not None for endpoint in app.view_functions)


def test_an_undeclared_endpoint_stops_the_app(tmp_path):
    from flask import Blueprint

    import crm

    blueprint = Blueprint("forgotten", __name__)
    blueprint.add_url_rule("/forgotten", "page", lambda: "open to all")
    original = crm._register_blueprints

    def with_forgotten(app):
        original(app)
        app.register_blueprint(blueprint)

    crm._register_blueprints = with_forgotten
    try:
        with pytest.raises(RuntimeError, match="forgotten.page"):
            create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    finally:
        crm._register_blueprints = original
