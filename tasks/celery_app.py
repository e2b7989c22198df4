"""The Celery app, bound to Flask (Flask's `celery_init_app` pattern): every task runs inside an
app context, takes JSON arguments only, and is acknowledged late, so a worker killed mid-task
leaves its message for another worker. Reminders never use ETA or countdown: the periodic sweep
finds due work in the database (RELIABILITY.md)."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask

from tasks.schedule import JOBS


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=app.config.get("BROKER_URL") or "memory://",
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        task_always_eager=app.config.get("SCHEDULER") != "celery",
        beat_schedule={
            job.name: {
                "task": "jobs.run",
                "schedule": job.every.total_seconds(),
                "args": [job.name],
                # a tick that could not be delivered in time is dropped: the next one decides
                "options": {"expires": job.every.total_seconds()},
            }
            for job in JOBS
        },
    )
    celery.set_default()
    app.extensions["celery"] = celery
    import tasks.jobs  # noqa: F401  (registers the tasks)

    return celery
