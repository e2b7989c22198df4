"""Follow-ups: making them, finding them, and cancelling them with their subject."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.subjects import load_subject, subject_timezone
from crm.roles import JAIL_ROLES
from crm.workspaces.models import Membership, Workspace

TITLE_MAX = 200


class FollowUpError(ValueError):
    """Field errors of a follow-up; each message is safe to show next to its field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def create_follow_up(
    *,
    subject_kind: str,
    subject_id: uuid.UUID | str,
    title: str,
    assignee: Membership,
    due_at: datetime,
    notes: str = "",
    cadence_days: int | None = None,
    cadence_rrule: str | None = None,
    created_by: Membership | None = None,
) -> FollowUp:
    """A follow-up about a record of the current workspace, due at an aware time."""
    errors: dict[str, str] = {}
    try:
        subject = load_subject(subject_kind, subject_id)
    except ValueError as error:
        errors["subject"] = str(error)
        subject = None
    title = " ".join((title or "").split())
    if not title:
        errors["title"] = "Say what is to be done."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Use at most {TITLE_MAX} characters."
    if assignee is None or assignee.role not in JAIL_ROLES:
        errors["assignee"] = "Choose a staff member or admin of this workspace."
    if due_at is None or due_at.tzinfo is None:
        errors["due_at"] = "Choose a due date and time."
    if cadence_days is not None and cadence_days <= 0:
        errors["cadence_days"] = "Repeat every 1 day or more."
    if errors:
        raise FollowUpError(errors)
    workspace = db.session.get(Workspace, assignee.workspace_id)
    follow_up = FollowUp(
        subject_kind=subject_kind,
        subject_id=subject.public_id,
        title=title,
        notes=(notes or "").strip(),
        assignee_id=assignee.id,
        created_by_id=created_by.id if created_by else None,
        due_at=due_at,
        timezone=subject_timezone(subject_kind, subject, workspace.timezone),
        cadence_days=cadence_days,
        cadence_rrule=cadence_rrule or None,
    )
    db.session.add(follow_up)
    db.session.flush()
    return follow_up


def follow_ups_about(subject_kind: str, subject_id: uuid.UUID) -> list[FollowUp]:
    return list(
        db.session.execute(
            select(FollowUp)
            .where(FollowUp.subject_kind == subject_kind, FollowUp.subject_id == subject_id)
            .order_by(FollowUp.due_at)
        ).scalars()
    )


def cancel_for_subject(subject_kind: str, subject_id: uuid.UUID) -> int:
    """Archiving or deleting a record cancels its open and snoozed follow-ups."""
    pending = list(
        db.session.execute(
            select(FollowUp).where(
                FollowUp.subject_kind == subject_kind,
                FollowUp.subject_id == subject_id,
                FollowUp.status.in_([FollowUpStatus.OPEN, FollowUpStatus.SNOOZED]),
            )
        ).scalars()
    )
    for follow_up in pending:  # through the ORM, so each change is audited
        follow_up.status = FollowUpStatus.CANCELLED
    db.session.flush()
    return len(pending)
