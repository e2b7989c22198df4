"""How Flask-Login turns a session cookie back into a user."""

from __future__ import annotations

from crm.auth.models import User
from crm.extensions import db, login_manager


@login_manager.user_loader
def load_user(user_key: str) -> User | None:
    """`id:session_version`; a cookie of an older version (after logout) loads nobody."""
    user_id, _, version = user_key.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version) or user.is_disabled:
        return None
    return user
