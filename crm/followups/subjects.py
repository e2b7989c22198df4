"""What a follow-up can be about: a kind name for each model, checked in the workspace.

A follow-up names its subject by kind and public id (not a foreign key per kind), so one table
serves every record. Each kind says which model it is and, for facility records, which
facility's time zone its due times follow.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from crm.extensions import db


@dataclass(frozen=True)
class SubjectKind:
    name: str
    label: str
    model_path: str  # "module:Class", imported on first use (the models import this module)
    endpoint: str  # the record's page; its URL argument is `<name>_id`

    @property
    def model(self):
        module, _, cls = self.model_path.partition(":")
        return getattr(__import__(module, fromlist=[cls]), cls)


SUBJECT_KINDS = {
    kind.name: kind
    for kind in (
        SubjectKind(
            "organization", "Organization", "crm.partners.models:Organization", "partners.show"
        ),
        SubjectKind("facility", "Facility", "crm.facilities.models:Facility", "facilities.show"),
    )
}


class UnknownSubject(ValueError):
    """The record does not exist in this workspace (or is archived)."""


def load_subject(kind: str, subject_id: uuid.UUID | str):
    """The live record a follow-up is about, in the current workspace, or UnknownSubject."""
    subject_kind = SUBJECT_KINDS.get(kind)
    if subject_kind is None:
        raise UnknownSubject(f"Follow-ups cannot be about {kind!r}.")
    try:
        subject_id = uuid.UUID(str(subject_id))
    except ValueError:
        raise UnknownSubject("There is no such record.") from None
    model = subject_kind.model
    record = db.session.execute(
        select(model).where(model.public_id == subject_id)
    ).scalar_one_or_none()
    if record is None or getattr(record, "archived_at", None) is not None:
        raise UnknownSubject("There is no such record.")
    return record


def subject_timezone(kind: str, record, workspace_timezone: str) -> str:
    """Facility records follow their facility's zone; everything else the workspace's."""
    if kind == "facility":
        return record.timezone
    return workspace_timezone


def subject_labels(pairs: set[tuple[str, uuid.UUID]]) -> dict[tuple[str, uuid.UUID], str]:
    """Names of many subjects at once: one query per kind, never one per follow-up."""
    labels: dict[tuple[str, uuid.UUID], str] = {}
    by_kind: dict[str, set[uuid.UUID]] = {}
    for kind, subject_id in pairs:
        by_kind.setdefault(kind, set()).add(subject_id)
    for kind, ids in by_kind.items():
        subject_kind = SUBJECT_KINDS.get(kind)
        if subject_kind is None:
            continue
        model = subject_kind.model
        rows = db.session.execute(
            select(model.public_id, model.name).where(model.public_id.in_(ids))
        ).all()
        labels.update({(kind, row.public_id): row.name for row in rows})
    return labels
