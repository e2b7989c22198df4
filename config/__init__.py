"""Settings classes, one per environment; every setting can be overridden by an INREACH_ variable.

`load_config("development")` returns a plain dict for `app.config.from_mapping`. Secrets never have
a hard-coded production value: the development secret key is generated once and kept in the
instance folder by the app factory.
"""

from __future__ import annotations

import os
from typing import Any

# INREACH_<name> -> Flask config key, where the two differ.
ENV_ALIASES = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
}


class BaseConfig:
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: sqlite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    BROKER_URL: str | None = None
    SCHEDULER = "embedded"  # embedded | celery | off
    MAIL_HOST: str | None = None
    MAIL_PORT = 587
    MAIL_STARTTLS = True
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_FROM = "Inreach <no-reply@localhost>"
    STORAGE_DIR: str | None = None  # default: <instance>/storage
    BASE_URL = "http://127.0.0.1:5000"
    DEFAULT_TIMEZONE = "America/Chicago"
    PAGE_SIZE = 50
    # Follow-ups the reminder sweep decides per committed transaction: larger is faster (the
    # benchmark's 100,000 take 20-30% less time at 2,000 than at 500); on SQLite a batch holds
    # the write lock for under a second.
    SWEEP_BATCH_SIZE = 2000
    SESSION_IDLE_MINUTES = 30
    SESSION_ABSOLUTE_HOURS = 12
    # Flask-Limiter: memory:// counts per process; use redis://host:6379/1 in production
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    LOGIN_FAILURE_LIMIT = "10 per minute;50 per hour"

    BOOTSTRAP_SERVE_LOCAL = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = 0
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    # HTTPS redirect, HSTS and Secure cookies: always in production, elsewhere only if set.
    FORCE_HTTPS = False
    # Number of reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted
    # (crm/web/security.py); 0 trusts none.
    PROXY_FIX = 0
    TESTING = False


class DevelopmentConfig(BaseConfig):
    pass


class TestConfig(BaseConfig):
    TESTING = True
    SCHEDULER = "off"
    SECRET_KEY = "test-secret-key-not-for-production"


class ProductionConfig(BaseConfig):
    SESSION_COOKIE_SECURE = True


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def _coerce(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"expected a boolean, got {raw!r}")
    if isinstance(default, int):
        return int(raw)
    return raw


def load_config(name: str | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Settings of environment `name` (default: INREACH_ENV, else development), env applied."""
    environ = os.environ if environ is None else environ
    name = name or environ.get("INREACH_ENV", "development")
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown environment {name!r}; choose one of {sorted(CONFIGS)}") from None
    settings = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    settings["ENV_NAME"] = name
    for env_key, raw in environ.items():
        if not env_key.startswith("INREACH_") or env_key == "INREACH_ENV":
            continue
        short = env_key.removeprefix("INREACH_")
        key = ENV_ALIASES.get(short, short)
        if key in settings:
            settings[key] = _coerce(raw, settings[key])
    return settings
