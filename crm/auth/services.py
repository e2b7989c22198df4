"""Accounts: users, passwords, login with lockout, password resets, ending sessions.

Rules (OWASP ASVS 5.0 level 2): passwords of 8 to 128 characters, checked against a list of
common passwords, no composition rules; Argon2id, rehashed when its parameters change; five
failed logins in a row lock the account for ten minutes; every attempt is recorded. Answers
never tell whether an email has an account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import select, update

from crm import clock
from crm.auth.models import LoginAttempt, PasswordResetToken, User
from crm.auth.passwords import hash_password, needs_rehash, verify_password
from crm.extensions import db

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=10)
RESET_LIFETIME = timedelta(hours=1)


class AccountError(ValueError):
    """Input that cannot make or change an account; the message is safe to show."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    email = normalize_email(email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise AccountError("Enter a valid email address.")
    return email


def find_user(email: str) -> User | None:
    return db.session.execute(
        select(User).where(User.email == normalize_email(email))
    ).scalar_one_or_none()


@cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_rules(password: str, *, email: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    lowered = password.lower()
    if lowered in _common_passwords() or (email and lowered == normalize_email(email)):
        raise AccountError("This password is too common: choose a longer or less usual one.")


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(email: str, password: str, name: str = "") -> User:
    email = check_email(email)
    if find_user(email) is not None:
        raise AccountError("An account with this email already exists.")
    check_password_rules(password, email=email)
    user = User(
        email=email,
        name=" ".join(name.split())[:120],
        password_hash=hash_password(password),
        password_changed_at=clock.now(),
    )
    db.session.add(user)
    db.session.flush()
    return user


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    outcome: str  # ok, bad_credentials, locked, disabled

    @property
    def succeeded(self) -> bool:
        return self.outcome == "ok"


def authenticate(email: str, password: str, *, ip: str = "", user_agent: str = "") -> LoginResult:
    """Check a login and record the attempt. Unknown emails take as long as known ones."""
    email = normalize_email(email)[:254]
    user = find_user(email)
    now = clock.now()
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None:
        outcome = "bad_credentials"
    elif user.locked_until is not None and user.locked_until > now:
        outcome = "locked"
    elif not password_ok:
        if user.locked_until is not None:  # an old lock has run out: count afresh
            user.failed_logins, user.locked_until = 0, None
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
        outcome = "bad_credentials"
    elif user.is_disabled:
        outcome = "disabled"
    else:
        outcome = "ok"
        user.failed_logins, user.locked_until = 0, None
        user.last_login_at = now
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    record_login_attempt(email, user, outcome, ip=ip, user_agent=user_agent)
    return LoginResult(user if outcome == "ok" else None, outcome)


def record_login_attempt(
    email: str, user: User | None, outcome: str, *, ip: str = "", user_agent: str = ""
) -> None:
    db.session.add(
        LoginAttempt(
            email=email[:254],
            user_id=user.id if user else None,
            succeeded=outcome == "ok",
            outcome=outcome,
            ip=ip[:64],
            user_agent=user_agent[:255],
        )
    )
    db.session.flush()


def end_sessions(user: User) -> None:
    """Invalidate every session cookie issued to this user so far."""
    user.session_version += 1


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise AccountError("The current password is not right.")
    set_password(user, new)


def set_password(user: User, new: str) -> None:
    """A new password ends every session and every pending reset link."""
    check_password_rules(new, email=user.email)
    user.password_hash = hash_password(new)
    user.password_changed_at = clock.now()
    user.failed_logins, user.locked_until = 0, None
    end_sessions(user)
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=clock.now())
    )
    db.session.flush()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def request_password_reset(email: str, base_url: str) -> None:
    """Email a one-use reset link if the address has an account; say nothing either way."""
    from crm.messaging.services import queue_message

    user = find_user(email)
    if user is None or user.is_disabled:
        return
    secret = secrets.token_urlsafe(32)
    token = PasswordResetToken(
        user_id=user.id, secret_hash=_digest(secret), expires_at=clock.now() + RESET_LIFETIME
    )
    db.session.add(token)
    db.session.flush()
    link = f"{base_url.rstrip('/')}/password/reset/{secret}"
    queue_message(
        kind="password_reset",
        idempotency_key=f"password_reset:{token.id}",
        recipient=user.email,
        recipient_user_id=user.id,
        subject="Reset your Inreach password",
        body=(
            f"Someone asked to reset the password of your Inreach account ({user.email}).\n\n"
            f"Choose a new password here within the hour:\n{link}\n\n"
            "The link works once. If you did not ask for this, ignore this email: "
            "your password stays as it is.\n"
        ),
    )


def find_reset_token(secret: str) -> PasswordResetToken | None:
    """The usable reset token behind a link, or None (unknown, used or expired)."""
    if not secret or len(secret) > 100:
        return None
    token = db.session.execute(
        select(PasswordResetToken).where(PasswordResetToken.secret_hash == _digest(secret))
    ).scalar_one_or_none()
    if token is None or token.used_at is not None or token.expires_at <= clock.now():
        return None
    return token


def reset_password(secret: str, new: str) -> User:
    token = find_reset_token(secret)
    if token is None:
        raise AccountError("This link has expired or was already used. Ask for a new one.")
    user = db.session.get(User, token.user_id)
    set_password(user, new)  # also marks this token used
    return user
