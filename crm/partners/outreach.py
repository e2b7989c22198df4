"""Contacts and the outreach log of an organization: the people there, and what happened with
them (calls, meetings, tours, cross-trainings) with the follow-up a dated next step asks for.

Every query here is scoped by the tenancy listener: partner users reach only their own
organization's contacts, never activities (a staff-only model) nor a contact's notes (a
staff-only field). Times are entered on the workspace's wall clock and stored in UTC.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from crm import clock
from crm.extensions import db
from crm.facilities.models import Facility
from crm.followups.services import TITLE_MAX, FollowUpError, create_follow_up
from crm.partners.models import (
    Activity,
    ActivityAttendee,
    ActivityKind,
    Contact,
    Organization,
    Stage,
)
from crm.partners.services import InvalidInput
from crm.roles import JAIL_ROLES
from crm.tenancy import current_scope
from crm.workspaces.models import Membership

NAME_MAX = 200
TITLE_MAX_CONTACT = 200
EMAIL_MAX = 254
PHONE_MAX = 40
TEXT_MAX = 10_000
NEXT_STEP_MAX = 1_000
# The most recent entries the organization page shows; older ones wait for a log page.
ACTIVITY_LIMIT = 50
CONTACT_LIMIT = 200
# Logging is about what happened: a little slack for clocks and zones, not a planning tool.
FUTURE_SLACK = timedelta(days=1)
FIRST_YEAR, LAST_YEAR = 1900, 2100

# The pipeline in order; paused and ended are off it, so nothing "moves forward" from them.
PIPELINE = (
    Stage.IDENTIFIED,
    Stage.RESEARCHED,
    Stage.CONTACTED,
    Stage.TOURED,
    Stage.CROSS_TRAINED,
    Stage.AGREEMENT,
    Stage.ACTIVE,
)
STAGE_REACHED_BY = {
    ActivityKind.TOUR: Stage.TOURED,
    ActivityKind.CROSS_TRAINING: Stage.CROSS_TRAINED,
}

# Loose on purpose: one @ with a dot after it. Deliverability is the mail server's business;
# this catches a phone number typed into the email box. Characters that would add headers or
# recipients to a mailto: link ("?bcc=...", ",", ";") or break out of markup are refused.
_NOT_IN_EMAIL = r"\s?&,;:<>()\[\]\\\"@"
EMAIL = re.compile(rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}'/]+\.[^{_NOT_IN_EMAIL}'/.]+$")
# Digits with the usual separators, an optional leading +, an optional extension.
PHONE = re.compile(
    r"^(?P<number>\+?\(?[0-9][0-9 ().\-/]*)(?:\s*(?:x|ext\.?|extension)\s*(?P<ext>[0-9]{1,6}))?$",
    re.I,
)


class Listing(list):
    """The first rows of a list; `more` says whether rows were left out."""

    more: bool = False


class StaffOnlyField(PermissionError):
    """A staff-only field was set in a scope that hides staff-only fields (a partner, a viewer)."""


# --- small helpers ------------------------------------------------------------------------------


def _one_line(value: str | None) -> str:
    return " ".join((value or "").split())


def _has_nul(*values: str | None) -> bool:
    return any("\x00" in (v or "") for v in values)


def _public_id(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _staff_fields_hidden() -> bool:
    scope = current_scope()
    return scope is not None and scope.hide_staff_only


def tel_uri(phone: str | None) -> str:
    """An RFC 3966 `tel:` link of a phone as typed ("(312) 555-0100 x12" ->
    "tel:3125550100;ext=12"); empty when there is no number in it."""
    match = PHONE.fullmatch((phone or "").strip())
    if match is None:
        return ""
    number = match.group("number")
    digits = re.sub(r"[^0-9]", "", number)
    if not digits:
        return ""
    uri = "tel:" + ("+" if number.startswith("+") else "") + digits
    if match.group("ext"):
        uri += f";ext={match.group('ext')}"
    return uri


def _check_phone(value: str) -> str | None:
    """The message for a phone that cannot be one, or None."""
    if not value:
        return None
    if len(value) > PHONE_MAX:
        return f"Use at most {PHONE_MAX} characters."
    match = PHONE.fullmatch(value)
    digits = len(re.sub(r"[^0-9]", "", match.group("number"))) if match else 0
    if match is None or not 7 <= digits <= 15:
        return "Enter a phone number like (312) 555-0100, with an extension like x12 if needed."
    return None


# --- contacts -----------------------------------------------------------------------------------


@dataclass
class ContactInput:
    name: str
    title: str = ""
    email: str = ""
    phone: str = ""
    phone_alt: str = ""
    # Staff-only. None leaves the notes as they are: what partners' pages always send.
    notes: str | None = None


def _clean_contact(data: ContactInput) -> dict:
    errors: dict[str, str] = {}
    name = _one_line(data.name)
    title = _one_line(data.title)
    email = (data.email or "").strip()
    phone = _one_line(data.phone)
    phone_alt = _one_line(data.phone_alt)
    notes = None if data.notes is None else data.notes.strip()
    if not name:
        errors["name"] = "Enter the contact's name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Use at most {NAME_MAX} characters."
    if len(title) > TITLE_MAX_CONTACT:
        errors["title"] = f"Use at most {TITLE_MAX_CONTACT} characters."
    if len(email) > EMAIL_MAX:
        errors["email"] = f"Use at most {EMAIL_MAX} characters."
    elif email and not EMAIL.fullmatch(email):
        errors["email"] = "Enter an email address like name@example.org."
    for key, value in (("phone", phone), ("phone_alt", phone_alt)):
        message = _check_phone(value)
        if message:
            errors[key] = message
    if notes is not None and len(notes) > TEXT_MAX:
        errors["notes"] = f"Use at most {TEXT_MAX:,} characters."
    # PostgreSQL refuses NUL in text: say so here (the web layer refuses it earlier too).
    for key, value in (
        ("name", name),
        ("title", title),
        ("email", email),
        ("phone", phone),
        ("phone_alt", phone_alt),
        ("notes", notes),
    ):
        if _has_nul(value):
            errors[key] = "Remove the invisible NUL character from this text."
    if errors:
        raise InvalidInput(errors)
    if notes is not None and _staff_fields_hidden():
        raise StaffOnlyField("a contact's notes are staff-only")
    values = {
        "name": name,
        "title": title,
        "email": email,
        "phone": phone,
        "phone_alt": phone_alt,
    }
    if notes is not None:
        values["notes"] = notes
    return values


def _require_live(organization: Organization) -> None:
    if organization.archived_at is not None:
        raise InvalidInput(
            {"organization": f"{organization.name} is archived: restore it before adding to it."}
        )


def create_contact(organization: Organization, data: ContactInput) -> Contact:
    """A new contact of the organization."""
    values = _clean_contact(data)
    _require_live(organization)
    contact = Contact(organization_id=organization.id, **values)
    db.session.add(contact)
    db.session.flush()
    return contact


def update_contact(contact: Contact, data: ContactInput) -> Contact:
    """Change a contact; `data.notes` None keeps the staff notes (partners never send them)."""
    for key, value in _clean_contact(data).items():
        setattr(contact, key, value)
    db.session.flush()
    return contact


def archive_contact(contact: Contact) -> None:
    """The contact leaves the organization's list; the activities they attended keep them."""
    if contact.archived_at is None:
        contact.archived_at = clock.now()
        db.session.flush()


def load_contact(public_id: uuid.UUID) -> Contact | None:
    """A contact of the current scope with its organization (one statement)."""
    return db.session.execute(
        select(Contact)
        .where(Contact.public_id == public_id)
        .options(joinedload(Contact.organization))
    ).scalar_one_or_none()


def contacts_of(organization: Organization, *, also: Sequence[int] = ()) -> list[Contact]:
    """The organization's live contacts by name, and the archived ones whose ids are in `also`
    (attendees of an activity being edited)."""
    statement = select(Contact).where(Contact.organization_id == organization.id)
    if also:
        statement = statement.where(Contact.archived_at.is_(None) | Contact.id.in_(list(also)))
    else:
        statement = statement.where(Contact.archived_at.is_(None))
    return list(
        db.session.execute(
            statement.order_by(Contact.name_key, Contact.id).limit(CONTACT_LIMIT)
        ).scalars()
    )


# --- activities ---------------------------------------------------------------------------------


@dataclass
class ActivityInput:
    kind: ActivityKind | str
    # A naive time is read on the workspace's wall clock; an aware one is taken as it is.
    occurred_at: datetime | None
    facility: uuid.UUID | str | None = None  # public id of a facility of the workspace
    contacts: Sequence[uuid.UUID | str] = field(default_factory=list)  # of this organization
    staff: Sequence[uuid.UUID | str] = field(default_factory=list)  # admin/staff memberships
    summary: str = ""
    outcome: str = ""
    next_step: str = ""
    # When set, the next step becomes a follow-up due then (wall clock, like occurred_at).
    next_step_due: datetime | None = None
    next_step_assignee: uuid.UUID | str | None = None  # a staff membership; None: the author
    # Tours move the organization to "toured", cross-trainings to "cross_trained", when it is
    # earlier in the pipeline.
    advance_stage: bool = False


class NonexistentTime(ValueError):
    """A wall-clock time skipped by a daylight-saving change."""


def to_utc(moment: datetime, timezone: str) -> datetime:
    """A wall-clock time of `timezone` in UTC. A time the clocks skipped (02:30 on the night
    they spring forward) is refused; a time they pass twice is the first of the two."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    zone = ZoneInfo(timezone)
    utc = moment.replace(tzinfo=zone).astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != moment:
        raise NonexistentTime(moment)
    return utc


def local_wall_clock(moment: datetime, timezone: str) -> datetime:
    """A stored UTC time as a naive wall-clock time of `timezone` (what a form shows)."""
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def _checked_time(moment: datetime, timezone: str, key: str, errors: dict) -> datetime | None:
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        errors[key] = f"Enter a year between {FIRST_YEAR} and {LAST_YEAR}."
        return None
    try:
        return to_utc(moment, timezone)
    except NonexistentTime:
        errors[key] = (
            f"That time does not exist on that day in {timezone}: the clocks moved forward. "
            "Choose another time."
        )
        return None


def live_facilities(also: int | None = None) -> list[Facility]:
    """The workspace's facilities that are not archived, by name (and `also`, if archived)."""
    condition = Facility.archived_at.is_(None)
    if also is not None:
        condition = condition | (Facility.id == also)
    return list(
        db.session.execute(
            select(Facility).where(condition).order_by(Facility.name, Facility.id)
        ).scalars()
    )


def staff_members() -> list[Membership]:
    """Admins and staff of the workspace (with their users), by name: who can attend for the
    jail and be assigned a follow-up."""
    members = db.session.execute(
        select(Membership).where(Membership.role.in_(JAIL_ROLES))
    ).scalars()
    return sorted(members, key=lambda m: ((m.user.name or m.user.email).casefold(), m.id))


def _ids(values: Sequence, key: str, errors: dict, message: str) -> list[uuid.UUID]:
    parsed = []
    for value in values or ():
        public_id = _public_id(value)
        if public_id is None:
            errors[key] = message
            return []
        if public_id not in parsed:
            parsed.append(public_id)
    return parsed


def _clean_activity(
    organization: Organization, data: ActivityInput, by: Membership, current: Activity | None
) -> dict:
    errors: dict[str, str] = {}
    timezone = by.workspace.timezone
    try:
        kind = ActivityKind(data.kind)
    except ValueError:
        errors["kind"] = "Choose a kind from the list."
        kind = None

    occurred_at = None
    if data.occurred_at is None:
        errors["occurred_at"] = "Enter the date and time it took place."
    else:
        occurred_at = _checked_time(data.occurred_at, timezone, "occurred_at", errors)
        if occurred_at is not None and occurred_at > clock.now() + FUTURE_SLACK:
            errors["occurred_at"] = (
                "Log an activity once it has taken place; plan what comes next as its next step."
            )
            occurred_at = None

    facility_id = None
    if data.facility:
        public_id = _public_id(data.facility)
        facility = None
        if public_id is not None:
            facility = db.session.execute(
                select(Facility).where(Facility.public_id == public_id)
            ).scalar_one_or_none()
        kept = current is not None and facility is not None and facility.id == current.facility_id
        if facility is None or (facility.archived_at is not None and not kept):
            errors["facility"] = "Choose a facility from the list."
        else:
            facility_id = facility.id

    message = "Choose people of this organization from the list."
    contact_ids = _ids(data.contacts, "contacts", errors, message)
    contacts: list[Contact] = []
    if contact_ids:
        contacts = list(
            db.session.execute(
                select(Contact).where(
                    Contact.public_id.in_(contact_ids),
                    Contact.organization_id == organization.id,
                )
            ).scalars()
        )
        attending = {a.contact_id for a in current.attendees} if current is not None else set()
        usable = [c for c in contacts if c.archived_at is None or c.id in attending]
        if len(usable) != len(contact_ids):
            errors["contacts"] = message
        contacts = usable

    message = "Choose staff members of this workspace from the list."
    member_ids = _ids(data.staff, "staff", errors, message)
    members: list[Membership] = []
    if member_ids:
        members = list(
            db.session.execute(
                select(Membership).where(
                    Membership.public_id.in_(member_ids), Membership.role.in_(JAIL_ROLES)
                )
            ).scalars()
        )
        if len(members) != len(member_ids):
            errors["staff"] = message

    summary = (data.summary or "").strip()
    outcome = (data.outcome or "").strip()
    next_step = (data.next_step or "").strip()
    if not summary:
        errors["summary"] = "Say briefly what happened."
    for key, value, limit in (
        ("summary", summary, TEXT_MAX),
        ("outcome", outcome, TEXT_MAX),
        ("next_step", next_step, NEXT_STEP_MAX),
    ):
        if len(value) > limit:
            errors.setdefault(key, f"Use at most {limit:,} characters.")
        if _has_nul(value):
            errors[key] = "Remove the invisible NUL character from this text."

    due_at = None
    if data.next_step_due is not None:
        if not next_step:
            errors.setdefault("next_step", "Say what the next step is, or clear its date.")
        due_at = _checked_time(data.next_step_due, timezone, "next_step_due", errors)
        if due_at is not None and occurred_at is not None and due_at <= occurred_at:
            errors["next_step_due"] = "The next step comes after the activity: choose a later time."
            due_at = None

    assignee = by
    if data.next_step_assignee:
        public_id = _public_id(data.next_step_assignee)
        assignee = None
        if public_id is not None:
            assignee = db.session.execute(
                select(Membership).where(
                    Membership.public_id == public_id, Membership.role.in_(JAIL_ROLES)
                )
            ).scalar_one_or_none()
        if assignee is None:
            errors["next_step_assignee"] = "Choose a staff member of this workspace."

    if errors:
        raise InvalidInput(errors)
    return {
        "kind": kind,
        "occurred_at": occurred_at,
        "facility_id": facility_id,
        "contacts": contacts,
        "members": members,
        "summary": summary,
        "outcome": outcome,
        "next_step": next_step,
        "due_at": due_at,
        "assignee": assignee,
    }


def _set_attendees(activity: Activity, contacts: list[Contact], members: list[Membership]):
    """Keep the attendee rows still chosen, add the new ones, remove the rest (so the audit log
    shows who was added or removed, not a rewrite of everyone)."""
    wanted_contacts = {c.id for c in contacts}
    wanted_members = {m.id for m in members}
    for attendee in list(activity.attendees):
        if attendee.contact_id is not None and attendee.contact_id in wanted_contacts:
            wanted_contacts.discard(attendee.contact_id)
        elif attendee.membership_id is not None and attendee.membership_id in wanted_members:
            wanted_members.discard(attendee.membership_id)
        else:
            activity.attendees.remove(attendee)
    for contact in contacts:
        if contact.id in wanted_contacts:
            activity.attendees.append(ActivityAttendee(contact_id=contact.id))
    for member in members:
        if member.id in wanted_members:
            activity.attendees.append(ActivityAttendee(membership_id=member.id))


def _follow_up(organization: Organization, values: dict, by: Membership) -> None:
    """The dated next step as a follow-up, in the same transaction as the activity."""
    title, notes = values["next_step"], ""
    one_line = _one_line(title)
    if len(one_line) > TITLE_MAX:
        title, notes = one_line[: TITLE_MAX - 1].rstrip() + "…", values["next_step"]
    try:
        create_follow_up(
            subject_kind="organization",
            subject_id=organization.public_id,
            title=title,
            notes=notes,
            assignee=values["assignee"],
            due_at=values["due_at"],
            created_by=by,
        )
    except FollowUpError as error:
        fields = {
            "title": "next_step",
            "notes": "next_step",
            "due_at": "next_step_due",
            "assignee": "next_step_assignee",
        }
        raise InvalidInput(
            {fields.get(key, "organization"): message for key, message in error.errors.items()}
        ) from error


def _advance_stage(organization: Organization, kind: ActivityKind, by: Membership) -> None:
    target = STAGE_REACHED_BY.get(kind)
    if target is None or organization.archived_at is not None or organization.stage not in PIPELINE:
        return
    if PIPELINE.index(organization.stage) >= PIPELINE.index(target):
        return
    # The pipeline's own service records the dated history of who moved it.
    from crm.partners.services import change_stage

    change_stage(organization, target, by=by, note=f"{kind.label} logged")


def log_activity(organization: Organization, data: ActivityInput, *, by: Membership) -> Activity:
    """Log what happened with an organization; a dated next step becomes a follow-up, and a
    tour or cross-training may move the organization along the pipeline (journey 3)."""
    _require_live(organization)
    values = _clean_activity(organization, data, by, None)
    activity = Activity(
        organization_id=organization.id,
        kind=values["kind"],
        occurred_at=values["occurred_at"],
        author_id=by.id,
        facility_id=values["facility_id"],
        summary=values["summary"],
        outcome=values["outcome"],
        next_step=values["next_step"],
        attendees=[],
    )
    _set_attendees(activity, values["contacts"], values["members"])
    db.session.add(activity)
    db.session.flush()
    if values["due_at"] is not None:
        _follow_up(organization, values, by)
    if data.advance_stage:
        _advance_stage(organization, values["kind"], by)
    return activity


def update_activity(
    activity: Activity, organization: Organization, data: ActivityInput, *, by: Membership
) -> Activity:
    """Change a logged activity. A next-step date given here makes a new follow-up; follow-ups
    made before stay as they are (they live on their own once made)."""
    values = _clean_activity(organization, data, by, activity)
    activity.kind = values["kind"]
    activity.occurred_at = values["occurred_at"]
    activity.facility_id = values["facility_id"]
    activity.summary = values["summary"]
    activity.outcome = values["outcome"]
    activity.next_step = values["next_step"]
    _set_attendees(activity, values["contacts"], values["members"])
    db.session.flush()
    if values["due_at"] is not None:
        _follow_up(organization, values, by)
    if data.advance_stage:
        _advance_stage(organization, values["kind"], by)
    return activity


def delete_activity(activity: Activity) -> None:
    """Remove an entry of the log with its attendees; follow-ups it made stay (they are about
    the organization, and may already be under way)."""
    db.session.delete(activity)
    db.session.flush()


def load_activity(public_id: uuid.UUID) -> tuple[Activity, Organization] | None:
    """An activity of the current workspace with its organization and attendees."""
    row = db.session.execute(
        select(Activity, Organization)
        .join(Organization, Organization.id == Activity.organization_id)
        .where(Activity.public_id == public_id)
        .options(
            joinedload(Activity.facility),
            selectinload(Activity.attendees).options(
                joinedload(ActivityAttendee.contact), joinedload(ActivityAttendee.membership)
            ),
        )
    ).first()
    return (row[0], row[1]) if row else None


# --- the organization page ----------------------------------------------------------------------


def outreach_for(
    organization: Organization, *, limit: int = ACTIVITY_LIMIT
) -> tuple[Listing, Listing]:
    """The organization's live contacts (by name) and its latest activities (newest first) with
    everything the page shows of them, in at most three statements whatever their number:
    contacts; activities with author and facility; attendees with their contact or member.
    Partners and viewers get no activities, without a query."""
    contacts: Listing = Listing(
        db.session.execute(
            select(Contact)
            .where(Contact.organization_id == organization.id, Contact.archived_at.is_(None))
            .order_by(Contact.name_key, Contact.id)
            .limit(CONTACT_LIMIT + 1)
        ).scalars()
    )
    contacts.more = len(contacts) > CONTACT_LIMIT
    del contacts[CONTACT_LIMIT:]

    activities: Listing = Listing()
    if _staff_fields_hidden():
        return contacts, activities
    activities.extend(
        db.session.execute(
            select(Activity)
            .where(Activity.organization_id == organization.id)
            .order_by(Activity.occurred_at.desc(), Activity.id.desc())
            .limit(limit + 1)
            .options(
                joinedload(Activity.author),  # Membership brings its user (lazy="joined")
                joinedload(Activity.facility),
                selectinload(Activity.attendees).options(
                    joinedload(ActivityAttendee.contact),
                    joinedload(ActivityAttendee.membership),
                ),
            )
        )
        .unique()
        .scalars()
    )
    activities.more = len(activities) > limit
    del activities[limit:]
    for activity in activities:
        # contacts first, then staff, each by name: sorted here, not by a query per activity
        activity.attendees.sort(key=_attendee_order)
    return contacts, activities


def attendee_name(attendee: ActivityAttendee) -> str:
    if attendee.contact is not None:
        return attendee.contact.name
    user = attendee.membership.user
    return user.name or user.email


def _attendee_order(attendee: ActivityAttendee) -> tuple:
    return (attendee.contact is None, attendee_name(attendee).casefold(), attendee.id or 0)
