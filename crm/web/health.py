"""GET /healthz: is the database reachable, the broker (when configured), and is the sweep
keeping up? For load balancers and monitoring; public, and it names nothing of any workspace.

503 when the database (or the configured broker) cannot be reached. A late sweep is reported
(`sweep_late`) but answers 200: the web process itself can still serve.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from crm import clock
from crm.extensions import db
from crm.web.access import public

bp = Blueprint("health", __name__)

SWEEP = "followups.sweep"
LATE_AFTER_TICKS = 3  # a sweep this many intervals old is late


def _error(error: Exception) -> str:
    return f"error: {type(error).__name__}"


def _broker() -> str | None:
    if current_app.config["SCHEDULER"] != "celery":
        return None  # not used: not reported
    celery = current_app.extensions.get("celery")
    if celery is None:
        return "error: not configured"
    try:
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return "ok"
    except Exception as error:  # any transport error means the same to a monitor
        return _error(error)


@bp.get("/healthz")
@public
def healthz():
    from tasks.runner import last_runs
    from tasks.schedule import JOBS_BY_NAME

    body: dict = {"scheduler": current_app.config["SCHEDULER"]}
    last = ok = None
    try:
        db.session.execute(text("SELECT 1"))
        run = last_runs().get(SWEEP)
        if run is not None:
            # finished_at is the last sweep that succeeded (tasks/runner.py)
            last, ok = run.finished_at, run.ok
        body["database"] = "ok"
    except SQLAlchemyError as error:
        body["database"] = _error(error)
    finally:
        db.session.rollback()
    broker = _broker()
    if broker is not None:
        body["broker"] = broker
    if body["database"] == "ok":
        body["last_sweep"] = last.isoformat() if last else None
        body["last_sweep_ok"] = ok  # None: never ran, or running now
        if last is not None:
            lag = (clock.now() - last).total_seconds()
            body["sweep_lag_seconds"] = round(lag)
            body["sweep_late"] = lag > LATE_AFTER_TICKS * JOBS_BY_NAME[SWEEP].every.total_seconds()
    healthy = body["database"] == "ok" and not (broker or "").startswith("error")
    return jsonify(status="ok" if healthy else "failing", **body), (200 if healthy else 503)
