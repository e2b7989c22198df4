"""FollowUp: one thing someone must do about one record, by a due time."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.database import Timestamped, enum_column
from crm.extensions import db
from crm.tenancy import StaffOnly, WorkspaceScoped


class FollowUpStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    SNOOZED = "snoozed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class FollowUp(WorkspaceScoped, StaffOnly, Timestamped, db.Model):
    """About one record, named by its kind and public id (checked to exist in the workspace
    when the follow-up is made; archiving or deleting the record cancels its follow-ups).

    `due_at` is stored in UTC; `timezone` is the zone it was set in (the facility's for facility
    records, else the workspace's), so "9:00" stays 9:00 local across daylight-saving changes
    when a cadence moves it on.
    """

    __tablename__ = "follow_ups"
    # The reminder plan follows from the due time, assignee and status, which are recorded;
    # what the sweep decides is logged as the messages it queues.
    __audit_exclude__ = ("reminder_round", "next_stage", "next_stage_at")
    __table_args__ = (
        # "my follow-ups": one assignee's open ones by due time
        Index(
            "ix_follow_ups_workspace_id_assignee_id_status_due_at",
            "workspace_id",
            "assignee_id",
            "status",
            "due_at",
        ),
        # a record's page lists its follow-ups
        Index(
            "ix_follow_ups_workspace_id_subject_kind_subject_id",
            "workspace_id",
            "subject_kind",
            "subject_id",
        ),
        CheckConstraint(
            "(status = 'done') = (completed_at IS NOT NULL)", name="done_has_completed_at"
        ),
        CheckConstraint("cadence_days IS NULL OR cadence_days > 0", name="cadence_positive"),
        # the sweep, across workspaces: what is due for a decision, oldest first
        Index("ix_follow_ups_next_stage_at", "next_stage_at"),
    )

    subject_kind: Mapped[str] = mapped_column(String(40), nullable=False)
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    assignee_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), nullable=False
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL")
    )
    due_at: Mapped[datetime] = mapped_column(nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[FollowUpStatus] = mapped_column(
        enum_column(FollowUpStatus, "follow_up_status"),
        nullable=False,
        default=FollowUpStatus.OPEN,
    )
    completed_at: Mapped[datetime | None]
    completion_note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Optional cadence: an RFC 5545 RRULE, or every N days; the next due counts from the
    # previous due date, not from when it was done.
    cadence_rrule: Mapped[str | None] = mapped_column(String(500))
    cadence_days: Mapped[int | None]
    # Reminders (crm/followups/reminders.py keeps these in step with due, status, assignee):
    # the round starts again for a new assignee; next_stage 1 = at due, 2 = overdue, 3 = the
    # escalation to the other admins; next_stage_at is when the sweep decides it.
    reminder_round: Mapped[int] = mapped_column(nullable=False, default=1)
    next_stage: Mapped[int | None]
    next_stage_at: Mapped[datetime | None]
    # the follow-up this one continues (cadence), for the history of a recurring task
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("follow_ups.id", ondelete="SET NULL")
    )

    assignee = relationship("Membership", foreign_keys=[assignee_id], lazy="raise")
    created_by = relationship("Membership", foreign_keys=[created_by_id], lazy="raise")

    def audit_label(self) -> str:
        return self.title
