"""Reading the emails the outbox holds, as the person who receives them would."""

from __future__ import annotations

import re

from sqlalchemy import select

from crm.extensions import db
from crm.messaging.models import Message
from crm.tenancy import all_workspaces


def emails_to(app, recipient: str, kind: str | None = None) -> list[Message]:
    with app.app_context(), all_workspaces():
        statement = select(Message).where(Message.recipient == recipient).order_by(Message.id)
        if kind:
            statement = statement.where(Message.kind == kind)
        messages = list(db.session.execute(statement).scalars())
        for message in messages:
            db.session.expunge(message)
        return messages


def link_in(message: Message) -> str:
    """The path of the link in an email (the tests' client speaks to the app directly)."""
    url = re.search(r"https?://\S+", message.body).group(0)
    return "/" + url.split("/", 3)[3]
