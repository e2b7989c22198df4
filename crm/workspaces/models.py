"""Workspace and Membership."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm import clock
from crm.auth.models import User
from crm.database import new_public_id
from crm.extensions import db
from crm.roles import Role
from crm.tenancy import WorkspaceScoped, global_model


@global_model
class Workspace(db.Model):
    """One jail system: a sheriff's office, a county, or a regional coalition."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, default=new_public_id, unique=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(63), unique=True, nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=clock.now, nullable=False)
    # Follow-up reminders: the second after this many working days overdue, the escalation to
    # the other admins after that many; reminders wait for working hours (local time).
    reminder_second_after_days: Mapped[int] = mapped_column(nullable=False, default=2)
    reminder_escalate_after_days: Mapped[int] = mapped_column(nullable=False, default=4)
    workday_start_hour: Mapped[int] = mapped_column(nullable=False, default=8)
    workday_end_hour: Mapped[int] = mapped_column(nullable=False, default=17)

    def __repr__(self) -> str:
        return f"<Workspace {self.slug}>"


class Membership(WorkspaceScoped, db.Model):
    """A user's role in one workspace; a partner's membership names their organization."""

    __tablename__ = "memberships"
    __audit_exclude__ = ("last_active_at",)  # activity is not a change worth a row
    __table_args__ = (
        Index("uq_memberships_workspace_id_user_id", "workspace_id", "user_id", unique=True),
        Index("ix_memberships_user_id", "user_id"),
        CheckConstraint(
            "(role = 'partner') = (organization_id IS NOT NULL)", name="partner_has_organization"
        ),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            native_enum=False,
            length=16,
            values_callable=lambda e: [r.value for r in e],
            create_constraint=True,
            name="role",
        ),
        nullable=False,
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now, nullable=False)
    # Activity in this workspace only: admins never see when a member was active elsewhere.
    last_active_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    workspace: Mapped[Workspace] = relationship(lazy="joined", innerjoin=True)
    organization = relationship("Organization", foreign_keys=[organization_id])

    def audit_label(self) -> str:
        user = self.user or db.session.get(User, self.user_id)  # a new membership: by its id
        return user.email if user else ""

    def __repr__(self) -> str:
        return f"<Membership user={self.user_id} workspace={self.workspace_id} {self.role}>"


class Invitation(WorkspaceScoped, db.Model):
    """An admin's invitation to join the workspace, accepted through a signed link (72 h)."""

    __tablename__ = "invitations"

    def audit_label(self) -> str:
        return self.email

    __audit_exclude__ = ("secret_hash",)
    __table_args__ = (
        Index("ix_invitations_workspace_id_created_at", "workspace_id", "created_at"),
        CheckConstraint(
            "(role = 'partner') = (organization_id IS NOT NULL)", name="partner_has_organization"
        ),
    )

    email: Mapped[str] = mapped_column(String(254), nullable=False)
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            native_enum=False,
            length=16,
            values_callable=lambda e: [r.value for r in e],
            create_constraint=True,
            name="role",
        ),
        nullable=False,
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="SET NULL")
    )
    # sha256 of the link's secret: a leaked database does not hand out working links
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=clock.now, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    organization = relationship("Organization", foreign_keys=[organization_id])
    invited_by = relationship("Membership", foreign_keys=[invited_by_id])
