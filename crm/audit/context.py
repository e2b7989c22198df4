"""Who is acting now, for the audit log: a user (from a request), an anonymous visitor of a
public page, or the system (tasks, CLI commands, migrations).

The actor is bound the way the workspace is (crm/tenancy.py): per request by crm/web/access.py,
per block by `actor_context()`. With nothing bound the actor is "system", so a task never
inherits the person of a previous request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

LABEL_MAX = 254
IP_MAX = 64
USER_AGENT_MAX = 255


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str  # the user's email, "anonymous" or "system"
    ip: str = ""
    user_agent: str = ""

    def __post_init__(self) -> None:
        # Headers are the client's to choose: a long or odd User-Agent must not fail the write it
        # accompanies (the columns' sizes; PostgreSQL refuses NUL characters in text).
        for name, size in (("label", LABEL_MAX), ("ip", IP_MAX), ("user_agent", USER_AGENT_MAX)):
            value = "".join(c for c in (getattr(self, name) or "") if c.isprintable())
            object.__setattr__(self, name, value[:size])


SYSTEM = Actor(user_id=None, label="system")

_actor: ContextVar[Actor] = ContextVar("inreach_audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _actor.get()


def set_actor(actor: Actor) -> Token:
    """Bind `actor`; returns the token for `reset_actor`."""
    return _actor.set(actor)


def reset_actor(token: Token) -> None:
    _actor.reset(token)


@contextmanager
def actor_context(
    user_id: int | None = None,
    label: str = "system",
    *,
    ip: str = "",
    user_agent: str = "",
) -> Iterator[Actor]:
    """Bind an actor for the block: a CLI command run on behalf of someone, or a test."""
    actor = Actor(user_id, label, ip, user_agent)
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def request_actor(user=None) -> Actor:
    """The actor of the current HTTP request: `user` (a User), else an anonymous visitor.
    Either way with the client's address and browser, the "from where" of the log."""
    from flask import request

    ip = request.remote_addr or ""
    user_agent = request.headers.get("User-Agent", "")
    if user is None:
        return Actor(None, "anonymous", ip, user_agent)
    return Actor(user.id, user.email, ip, user_agent)
