"""Background work: the Celery app, the table of periodic jobs, and the tasks."""
