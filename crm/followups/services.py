"""Follow-ups: making them, finding them, moving them through their states, and cancelling them
with their subject.

Every time here is an aware datetime. A follow-up's due time is kept in UTC beside the zone it
was set in (`FollowUp.timezone`): the facility's for facility records, else the workspace's. A
cadence moves the wall clock of that zone, so a check-in at 09:00 stays at 09:00 local across
daylight-saving changes. "Now" is always `crm.clock.now()`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm import clock
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.subjects import UnknownSubject, load_subject, subject_timezone
from crm.roles import JAIL_ROLES
from crm.tenancy import current_scope
from crm.web.pagination import Page, paginate
from crm.workspaces.models import Membership, Workspace

TITLE_MAX = 200
NOTES_MAX = 10_000
CADENCE_DAYS_MAX = 3650
# Due times far outside a working life are typing mistakes (year 20026), and the years near
# 9999 cannot even be converted between zones.
DUE_YEARS = (2000, 2199)
# Still waiting for someone: listed, counted as overdue once the due time has passed.
PENDING = (FollowUpStatus.OPEN, FollowUpStatus.SNOOZED)
# The cadences a follow-up accepts: FREQ and INTERVAL only (the form's presets and the like).
# Rules with BY* parts can describe dates that never come (February 30th), which dateutil
# searches for until the year 9999: seconds of CPU per request.
FREQUENCIES = {"DAILY": DAILY, "WEEKLY": WEEKLY, "MONTHLY": MONTHLY, "YEARLY": YEARLY}
INTERVAL_MAX = {"DAILY": 3650, "WEEKLY": 520, "MONTHLY": 120, "YEARLY": 10}
OVERDUE_BADGE_CAP = 99  # the menu shows "99+" beyond: counting stays cheap for anyone


class FollowUpError(ValueError):
    """Field errors of a follow-up; each message is safe to show next to its field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- checks shared by every write -----------------------------------------------------------


def _clean_title(title: str, errors: dict[str, str]) -> str:
    title = " ".join((title or "").split())
    if not title:
        errors["title"] = "Say what is to be done."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Use at most {TITLE_MAX} characters."
    elif "\x00" in title:
        errors["title"] = "Remove the invisible NUL character from this text."
    return title


def _clean_text(name: str, value: str, errors: dict[str, str]) -> str:
    value = (value or "").strip()
    if len(value) > NOTES_MAX:
        errors[name] = f"Use at most {NOTES_MAX:,} characters."
    elif "\x00" in value:
        errors[name] = "Remove the invisible NUL character from this text."
    return value


def _check_due(name: str, due_at: datetime | None, errors: dict[str, str]) -> None:
    """An aware time in a sane range. A due time in the past is allowed (logging what was
    already due); it is simply overdue from the start."""
    if due_at is None or due_at.tzinfo is None:
        errors[name] = "Choose a due date and time."
    elif not DUE_YEARS[0] <= due_at.astimezone(UTC).year <= DUE_YEARS[1]:
        errors[name] = f"Choose a date between {DUE_YEARS[0]} and {DUE_YEARS[1]}."


def _check_assignee(assignee: Membership | None, errors: dict[str, str]) -> None:
    scope = current_scope()
    workspace_id = scope.workspace_id if scope is not None else None
    if (
        assignee is None
        or assignee.role not in JAIL_ROLES
        or (workspace_id is not None and assignee.workspace_id != workspace_id)
    ):
        errors["assignee"] = "Choose a staff member or admin of this workspace."


def clean_cadence(rule: str | None) -> str | None:
    """The canonical form of an RRULE the follow-ups accept ("FREQ=MONTHLY",
    "FREQ=WEEKLY;INTERVAL=2"), None for no rule; ValueError with a message to show."""
    text = (rule or "").strip().upper()
    if text.startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text:
        return None
    parts: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if not sep or key in parts:
            raise ValueError("Repeat with a rule like FREQ=MONTHLY or FREQ=WEEKLY;INTERVAL=2.")
        parts[key] = value
    if set(parts) - {"FREQ", "INTERVAL"}:
        raise ValueError("Repeat every so many days, weeks, months or years (FREQ and INTERVAL).")
    freq = parts.get("FREQ")
    if freq not in FREQUENCIES:
        raise ValueError("Repeat daily, weekly, monthly or yearly.")
    interval_text = parts.get("INTERVAL", "1")
    if not interval_text.isdigit() or not 1 <= int(interval_text) <= INTERVAL_MAX[freq]:
        raise ValueError(f"Repeat with an interval from 1 to {INTERVAL_MAX[freq]}.")
    interval = int(interval_text)
    return f"FREQ={freq}" if interval == 1 else f"FREQ={freq};INTERVAL={interval}"


def _clean_cadence(
    cadence_days: int | None, cadence_rrule: str | None, errors: dict[str, str]
) -> tuple[int | None, str | None]:
    rule = None
    try:
        rule = clean_cadence(cadence_rrule)
    except ValueError as error:
        errors["cadence"] = str(error)
    if cadence_days is not None:
        if not 1 <= cadence_days <= CADENCE_DAYS_MAX:
            errors["cadence_days"] = f"Repeat every 1 to {CADENCE_DAYS_MAX} days."
        elif rule is not None:
            errors["cadence"] = "Choose either a rule or a number of days, not both."
    return cadence_days, rule


# --- making and changing follow-ups ---------------------------------------------------------


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
    """A follow-up about a record of the current workspace, due at an aware time (in the past
    too: it is then overdue at once). FollowUpError names the fields that are wrong."""
    errors: dict[str, str] = {}
    try:
        subject = load_subject(subject_kind, subject_id)
    except ValueError as error:
        errors["subject"] = str(error)
        subject = None
    title = _clean_title(title, errors)
    notes = _clean_text("notes", notes, errors)
    _check_assignee(assignee, errors)
    _check_due("due_at", due_at, errors)
    cadence_days, cadence_rrule = _clean_cadence(cadence_days, cadence_rrule, errors)
    if errors:
        raise FollowUpError(errors)
    workspace = db.session.get(Workspace, assignee.workspace_id)
    follow_up = FollowUp(
        subject_kind=subject_kind,
        subject_id=subject.public_id,
        title=title,
        notes=notes,
        assignee_id=assignee.id,
        created_by_id=created_by.id if created_by else None,
        due_at=due_at,
        timezone=subject_timezone(subject_kind, subject, workspace.timezone),
        cadence_days=cadence_days,
        cadence_rrule=cadence_rrule,
    )
    db.session.add(follow_up)
    db.session.flush()
    return follow_up


def update_follow_up(
    follow_up: FollowUp,
    *,
    title: str,
    notes: str,
    due_at: datetime,
    assignee: Membership,
) -> FollowUp:
    """Change what, when and who. Reassigning goes through the same check as a new one."""
    errors: dict[str, str] = {}
    title = _clean_title(title, errors)
    notes = _clean_text("notes", notes, errors)
    _check_due("due_at", due_at, errors)
    _check_assignee(assignee, errors)
    if errors:
        raise FollowUpError(errors)
    follow_up.title = title
    follow_up.notes = notes
    if follow_up.due_at != due_at:
        follow_up.due_at = due_at
    follow_up.assignee_id = assignee.id
    db.session.flush()
    return follow_up


def reassign_follow_up(follow_up: FollowUp, assignee: Membership | None) -> FollowUp:
    """Hand a follow-up to another admin or staff member of this workspace."""
    errors: dict[str, str] = {}
    _check_assignee(assignee, errors)
    if errors:
        raise FollowUpError(errors)
    follow_up.assignee_id = assignee.id
    db.session.flush()
    return follow_up


def _require(follow_up: FollowUp, allowed: tuple[FollowUpStatus, ...], message: str) -> None:
    if follow_up.status not in allowed:
        raise FollowUpError({"status": message})


def complete_follow_up(
    follow_up: FollowUp, note: str = "", by: Membership | None = None
) -> FollowUp | None:
    """Mark a follow-up done (completed now, with an optional note). With a cadence, the next
    one is made in the same transaction, due at the next occurrence after the previous DUE
    time (not after the completion: a monthly check-in done three weeks late is still due on
    the same day next month). Returns that next follow-up, or None.

    A follow-up that already has a live successor (done, reopened, done again) does not get a
    second one."""
    errors: dict[str, str] = {}
    note = _clean_text("note", note, errors)
    if errors:
        raise FollowUpError(errors)
    _require(follow_up, PENDING, f"This follow-up is {follow_up.status.label.lower()} already.")
    follow_up.status = FollowUpStatus.DONE
    follow_up.completed_at = clock.now()
    follow_up.completion_note = note
    db.session.flush()
    due = next_due(follow_up)
    if due is None or _has_live_successor(follow_up) or not _subject_exists(follow_up):
        return None
    following = FollowUp(
        subject_kind=follow_up.subject_kind,
        subject_id=follow_up.subject_id,
        title=follow_up.title,
        notes=follow_up.notes,
        assignee_id=follow_up.assignee_id,
        created_by_id=by.id if by is not None else follow_up.created_by_id,
        due_at=due,
        timezone=follow_up.timezone,
        cadence_days=follow_up.cadence_days,
        cadence_rrule=follow_up.cadence_rrule,
        previous_id=follow_up.id,
    )
    db.session.add(following)
    db.session.flush()
    return following


def _has_live_successor(follow_up: FollowUp) -> bool:
    return (
        db.session.execute(
            select(FollowUp.id)
            .where(
                # the subject's index narrows the search to this record's follow-ups
                FollowUp.subject_kind == follow_up.subject_kind,
                FollowUp.subject_id == follow_up.subject_id,
                FollowUp.previous_id == follow_up.id,
                FollowUp.status != FollowUpStatus.CANCELLED,
            )
            .limit(1)
        ).first()
        is not None
    )


def _subject_exists(follow_up: FollowUp) -> bool:
    try:
        load_subject(follow_up.subject_kind, follow_up.subject_id)
    except UnknownSubject:
        return False
    return True


def next_due(follow_up: FollowUp) -> datetime | None:
    """The next occurrence of the follow-up's cadence after its due time, computed on the wall
    clock of its own zone (dtstart = the due in local time), in UTC; None without a cadence."""
    if follow_up.cadence_days:
        freq, interval = DAILY, follow_up.cadence_days
    elif follow_up.cadence_rrule:
        try:
            rule = clean_cadence(follow_up.cadence_rrule)
        except ValueError:
            return None  # stored before the rules were checked: no guessing
        parts = dict(part.partition("=")[::2] for part in rule.split(";"))
        freq, interval = FREQUENCIES[parts["FREQ"]], int(parts.get("INTERVAL", "1"))
    else:
        return None
    zone = ZoneInfo(follow_up.timezone)
    start = follow_up.due_at.astimezone(zone).replace(tzinfo=None, fold=0)
    try:
        following = rrule(freq, interval=interval, dtstart=start).after(start)
    except (ValueError, OverflowError):  # past the year 9999
        return None
    if following is None:
        return None
    return following.replace(tzinfo=zone).astimezone(UTC)


def snooze_follow_up(follow_up: FollowUp, until: datetime) -> FollowUp:
    """Put a follow-up off until a later time: status snoozed, due moved there."""
    errors: dict[str, str] = {}
    _check_due("until", until, errors)
    if "until" not in errors and until <= clock.now():
        errors["until"] = "Choose a time in the future."
    if errors:
        raise FollowUpError(errors)
    state = follow_up.status.label.lower()
    _require(follow_up, PENDING, f"A {state} follow-up cannot be snoozed.")
    follow_up.status = FollowUpStatus.SNOOZED
    follow_up.due_at = until
    db.session.flush()
    return follow_up


def snooze_target(follow_up: FollowUp, days: int) -> datetime:
    """ "Snooze 1 day / 1 week": the same time of day, `days` after the due date or after
    today, whichever is later, on the follow-up's own wall clock."""
    zone = ZoneInfo(follow_up.timezone)
    due = follow_up.due_at.astimezone(zone)
    base_day = max(due.date(), clock.now().astimezone(zone).date())
    return local_moment(base_day + timedelta(days=days), due.time().replace(fold=0), zone)


def reopen_follow_up(follow_up: FollowUp) -> FollowUp:
    """Undo a "done" or a cancellation: open again, with its due time as it was."""
    _require(
        follow_up,
        (FollowUpStatus.DONE, FollowUpStatus.CANCELLED),
        "Only a done or cancelled follow-up can be reopened.",
    )
    if not _subject_exists(follow_up):
        raise FollowUpError({"status": "Its record is archived or gone: it cannot be reopened."})
    follow_up.status = FollowUpStatus.OPEN
    follow_up.completed_at = None
    follow_up.completion_note = ""
    db.session.flush()
    return follow_up


def cancel_follow_up(follow_up: FollowUp) -> FollowUp:
    """Drop a follow-up that is no longer needed; a cadence stops with it."""
    state = follow_up.status.label.lower()
    _require(follow_up, PENDING, f"A {state} follow-up cannot be cancelled.")
    follow_up.status = FollowUpStatus.CANCELLED
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


# --- reading --------------------------------------------------------------------------------


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A wall-clock date and time of a zone as an aware UTC time. A time that does not exist
    (the hour skipped when clocks go forward) raises ValueError with a message to show."""
    moment = datetime.combine(day, at).replace(tzinfo=zone)
    utc = moment.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise ValueError("That time does not exist on that day (the clocks move forward).")
    return utc


def load_follow_up(public_id: uuid.UUID) -> FollowUp | None:
    """One follow-up with its assignee and author (and their users), for its page."""
    return (
        db.session.execute(
            select(FollowUp)
            .where(FollowUp.public_id == public_id)
            .options(joinedload(FollowUp.assignee), joinedload(FollowUp.created_by))
        )
        .unique()
        .scalar_one_or_none()
    )


def series_of(follow_up: FollowUp) -> list[FollowUp]:
    """The follow-ups of one cadence, oldest first: those before this one (through
    previous_id) and those made after it. One query: a series is about one record."""
    about = {f.id: f for f in follow_ups_about(follow_up.subject_kind, follow_up.subject_id)}
    about[follow_up.id] = follow_up
    series = [follow_up]
    seen = {follow_up.id}
    current = follow_up
    while current.previous_id in about and current.previous_id not in seen:
        current = about[current.previous_id]
        seen.add(current.id)
        series.insert(0, current)
    following: dict[int, list[FollowUp]] = {}
    for other in about.values():
        if other.previous_id is not None:
            following.setdefault(other.previous_id, []).append(other)
    current = follow_up
    while True:
        nexts = [f for f in following.get(current.id, []) if f.id not in seen]
        if not nexts:
            break
        current = min(nexts, key=lambda f: (f.status is FollowUpStatus.CANCELLED, f.id))
        seen.add(current.id)
        series.append(current)
    return series if len(series) > 1 else []


def assignee_choices() -> list[Membership]:
    """Admins and staff of the current workspace: who can be given a follow-up."""
    return list(
        db.session.execute(
            select(Membership).where(Membership.role.in_(JAIL_ROLES)).order_by(Membership.id)
        ).scalars()
    )


def find_assignee(public_id: uuid.UUID | str | None) -> Membership | None:
    """The admin or staff membership of this workspace with this public id, or None."""
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return db.session.execute(
        select(Membership).where(Membership.public_id == public_id, Membership.role.in_(JAIL_ROLES))
    ).scalar_one_or_none()


@dataclass(frozen=True)
class Agenda:
    """The bounds of "my follow-ups", in UTC, from one local calendar day."""

    now: datetime
    tomorrow: datetime  # the next local midnight: "today" ends there
    week_end: datetime  # local midnight six days after tomorrow: "this week" ends there


def agenda_bounds(timezone: str, now: datetime | None = None) -> Agenda:
    """Today and this week as the calendar of `timezone` has them (23 or 25 hours on the
    days the clocks change)."""
    now = now or clock.now()
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    midnight = time(0, 0)

    def start_of(day: date) -> datetime:
        # midnight exists in every zone we know; if a zone ever skips it, take the next hour
        try:
            return local_moment(day, midnight, zone)
        except ValueError:
            return local_moment(day, time(1, 0), zone)

    return Agenda(
        now=now,
        tomorrow=start_of(today + timedelta(days=1)),
        week_end=start_of(today + timedelta(days=7)),
    )


SECTIONS = ("overdue", "today", "week", "later")


def pending_follow_ups(
    *,
    assignee_id: int | None,
    section: str,
    agenda: Agenda,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Open and snoozed follow-ups of one section of the agenda, by due time; one query.

    `assignee_id` None means everyone's (the admins' view of the workspace), which also loads
    each assignee (joined, not per row)."""
    statement = select(FollowUp).where(FollowUp.status.in_(PENDING))
    if assignee_id is not None:
        statement = statement.where(FollowUp.assignee_id == assignee_id)
    else:
        statement = statement.options(joinedload(FollowUp.assignee))
    if section == "overdue":
        statement = statement.where(FollowUp.due_at < agenda.now)
    elif section == "today":
        statement = statement.where(
            FollowUp.due_at >= agenda.now, FollowUp.due_at < agenda.tomorrow
        )
    elif section == "week":
        statement = statement.where(
            FollowUp.due_at >= agenda.tomorrow, FollowUp.due_at < agenda.week_end
        )
    elif section == "later":
        statement = statement.where(FollowUp.due_at >= agenda.week_end)
    else:
        raise ValueError(f"no section {section!r}")
    return paginate(statement.order_by(FollowUp.due_at, FollowUp.id), page, per_page)


def count_overdue(assignee_id: int, now: datetime | None = None) -> int:
    """How many of one member's follow-ups are past due, up to OVERDUE_BADGE_CAP + 1: one
    query on the (workspace, assignee, status, due) index, however many there are."""
    overdue = (
        select(FollowUp.id)
        .where(
            FollowUp.assignee_id == assignee_id,
            FollowUp.status.in_(PENDING),
            FollowUp.due_at < (now or clock.now()),
        )
        .limit(OVERDUE_BADGE_CAP + 1)
        .subquery()
    )
    return db.session.execute(select(func.count()).select_from(overdue)).scalar_one()
