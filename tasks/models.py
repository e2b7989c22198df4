"""JobRun: the last run of each periodic job, for `inreach jobs list` and /healthz."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.tenancy import global_model


@global_model
class JobRun(db.Model):
    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]  # of the last run that succeeded (/healthz's lag)
    # the clock the job ran at (INREACH_NOW or --now may differ from the wall clock)
    ran_for: Mapped[datetime | None]
    ok: Mapped[bool | None]
    result: Mapped[str] = mapped_column(Text, nullable=False, default="")
