"""The global account of a person: one email, one password, memberships in workspaces."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm import clock
from crm.extensions import db
from crm.tenancy import global_model


@global_model
class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    # Bumped by logout and password changes: a session cookie carries the version it was
    # issued with, and an older one is refused (Flask's cookie sessions cannot be revoked).
    session_version: Mapped[int] = mapped_column(nullable=False, default=1)
    is_disabled: Mapped[bool] = mapped_column(nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(default=clock.now, nullable=False)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # Lockout: 5 failed logins in a row lock the account for 10 minutes.
    failed_logins: Mapped[int] = mapped_column(nullable=False, default=0)
    locked_until: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return not self.is_disabled

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id}>"


@global_model
class LoginAttempt(db.Model):
    """Every authentication attempt, kept for the account's security history."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now, nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    succeeded: Mapped[bool] = mapped_column(nullable=False)
    # why a login failed: bad_credentials, locked, disabled, no_membership, rate_limited
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(String(255), nullable=False, default="")


@global_model
class PasswordResetToken(db.Model):
    """A one-use password reset: the emailed link carries a secret whose hash is kept here."""

    __tablename__ = "password_reset_tokens"
    __table_args__ = (Index("ix_password_reset_tokens_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(default=clock.now, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    used_at: Mapped[datetime | None]


@global_model
class SuppressedAddress(db.Model):
    """An address that bounced for good (SMTP 5xx): no more mail to it, in any workspace."""

    __tablename__ = "suppressed_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now, nullable=False)
