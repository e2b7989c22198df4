"""Message: one email to one recipient, from decision to delivery."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from crm import clock
from crm.extensions import db
from crm.tenancy import WorkspaceScoped


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender: a lease that a stale claim loses
    SENT = "sent"
    FAILED = "failed"


# Account emails belong to no workspace: their links open a person's account, and no
# workspace page may show them.
ACCOUNT_KINDS = frozenset({"invitation", "password_reset"})


class Message(WorkspaceScoped, db.Model):
    __tablename__ = "messages"
    # The decision to send is audited; delivery's own bookkeeping is not a change by anyone.
    __audit_exclude__ = (
        "body",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
    )
    # Idempotency keys are made by the system (never typed by anyone) and name their own
    # workspace or account, so one global uniqueness tells nobody anything.
    __global_unique__ = ("idempotency_key",)
    __table_args__ = (
        Index("uq_messages_idempotency_key", "idempotency_key", unique=True),
        Index("ix_messages_workspace_id_created_at", "workspace_id", "created_at"),
        # the sender's claim: queued rows in order of when they may next be tried
        Index("ix_messages_status_next_attempt_at", "status", "next_attempt_at"),
        CheckConstraint(
            "(kind IN ('invitation', 'password_reset')) = (workspace_id IS NULL)",
            name="account_emails_have_no_workspace",
        ),
    )

    @declared_attr
    def workspace_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=True)

    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(200), nullable=False)
    recipient: Mapped[str] = mapped_column(String(254), nullable=False)
    recipient_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[MessageStatus] = mapped_column(
        Enum(
            MessageStatus,
            native_enum=False,
            length=16,
            create_constraint=True,
            values_callable=lambda e: [m.value for m in e],
            name="message_status",
        ),
        nullable=False,
        default=MessageStatus.QUEUED,
    )
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now, nullable=False)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    @property
    def is_account_email(self) -> bool:
        return self.kind in ACCOUNT_KINDS

    def workspace_optional(self) -> bool:
        return self.is_account_email

    def message_id(self, domain: str) -> str:
        """RFC 5322 Message-ID, the same at every attempt: a repeat is recognisable."""
        return f"<{self.public_id}@{domain}>"
