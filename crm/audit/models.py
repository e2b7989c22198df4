"""AuditEvent: one row per change or audited read of a workspace record."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from crm import clock
from crm.extensions import db
from crm.tenancy import WorkspaceScoped


class AuditEvent(WorkspaceScoped, db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_workspace_id_at", "workspace_id", "at"),
        Index("ix_audit_events_workspace_id_record", "workspace_id", "record_type", "record_id"),
        Index("ix_audit_events_workspace_id_actor_id_at", "workspace_id", "actor_id", "at"),
    )

    at: Mapped[datetime] = mapped_column(default=clock.now, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254), nullable=False, default="system")
    # create, update, delete, read, export
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    record_type: Mapped[str] = mapped_column(String(60), nullable=False)
    record_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    record_label: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    # {"field": [old, new], ...}; for reads and exports, what was read ({"rows": 12, ...})
    changes: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(255), nullable=False, default="")
