"""Three-stage reminders of follow-ups: when each is due, and deciding each exactly once.

Stage 1 goes to the assignee at the due time, stage 2 after N working days overdue, stage 3
escalates to the workspace's other admins after M (the workspace's settings). Times are worked
out in the follow-up's own zone on the wall clock, so a follow-up due at 09:00 is reminded at
09:00 local on both sides of a daylight-saving change; reminders wait for working hours.

The plan lives in the row (`next_stage`, `next_stage_at`), kept in step by one flush listener
whenever the due time, the assignee or the status changes: the database, not a broker's ETA,
is the source of truth. The sweep claims due rows and, for each, writes the Message rows of
one stage and moves the plan on, in one transaction. Every message has the idempotency key
`followup:<id>:r<round>:s<stage>:<user>`, so a second sweep, a second worker or a second beat
decides nothing twice; a new round starts when the due time or the assignee changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import event, inspect, select, update
from sqlalchemy.exc import IntegrityError

from crm import clock
from crm.auth.models import User
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.subjects import SUBJECT_KINDS
from crm.roles import Role
from crm.tenancy import ScopedSession, all_workspaces, current_workspace_id, workspace_context
from crm.workspaces.models import Membership, Workspace

WORKING_DAYS = frozenset({0, 1, 2, 3, 4})  # Monday to Friday
LIVE = (FollowUpStatus.OPEN, FollowUpStatus.SNOOZED)
PLAN_FIELDS = ("due_at", "assignee_id", "status")


@dataclass(frozen=True)
class Settings:
    second_after_days: int = 2
    escalate_after_days: int = 4
    start_hour: int = 8
    end_hour: int = 17

    @classmethod
    def of(cls, workspace: Workspace) -> Settings:
        return cls(
            workspace.reminder_second_after_days,
            workspace.reminder_escalate_after_days,
            workspace.workday_start_hour,
            workspace.workday_end_hour,
        )


def _next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() not in WORKING_DAYS:
        day += timedelta(days=1)
    return day


def add_working_days(day: date, count: int) -> date:
    for _ in range(count):
        day = _next_working_day(day)
    return day


def within_working_hours(local: datetime, settings: Settings) -> datetime:
    """`local` if it falls in working hours, else the start of the next working period."""
    zone = local.tzinfo
    start = time(settings.start_hour)
    day = local.date()
    if day.weekday() in WORKING_DAYS:
        if local.time() < start:
            return datetime.combine(day, start, tzinfo=zone)
        if local.hour < settings.end_hour:
            return local
    return datetime.combine(_next_working_day(day), start, tzinfo=zone)


def stage_times(due_at: datetime, zone_name: str, settings: Settings) -> dict[int, datetime]:
    """When stages 1, 2 and 3 fall due, in UTC."""
    zone = ZoneInfo(zone_name)
    local_due = due_at.astimezone(zone)
    wall = local_due.time().replace(tzinfo=None)

    def after(days: int) -> datetime:
        day = add_working_days(local_due.date(), days)
        return within_working_hours(datetime.combine(day, wall, tzinfo=zone), settings)

    times = {
        1: within_working_hours(local_due, settings),
        2: after(settings.second_after_days),
        3: after(settings.escalate_after_days),
    }
    return {stage: moment.astimezone(UTC) for stage, moment in times.items()}


# --- keeping the plan in step ----------------------------------------------------------------


def _settings_for(session, workspace_id: int) -> Settings:
    workspace = session.get(Workspace, workspace_id)
    return Settings.of(workspace) if workspace else Settings()


def replan(follow_up: FollowUp, settings: Settings) -> None:
    if follow_up.status not in LIVE:
        follow_up.next_stage = None
        follow_up.next_stage_at = None
        return
    follow_up.next_stage = 1
    follow_up.next_stage_at = stage_times(follow_up.due_at, follow_up.timezone, settings)[1]


@event.listens_for(ScopedSession, "before_flush")
def _keep_plans_in_step(session, _flush_context, _instances) -> None:
    # one lookup per workspace and flush: the identity map holds the workspace only weakly,
    # so without this a flush of N follow-ups would select the workspace N times
    known: dict[int, Settings] = {}

    def settings_of(workspace_id: int) -> Settings:
        if workspace_id not in known:
            known[workspace_id] = _settings_for(session, workspace_id)
        return known[workspace_id]

    for obj in session.new:
        if isinstance(obj, FollowUp):
            if obj.reminder_round is None:
                obj.reminder_round = 1
            if obj.status is None:
                obj.status = FollowUpStatus.OPEN
            replan(obj, settings_of(obj.workspace_id))
    for obj in session.dirty:
        if not isinstance(obj, FollowUp):
            continue
        state = inspect(obj)
        if not any(state.attrs[name].history.has_changes() for name in PLAN_FIELDS):
            continue
        # a new due time, a new assignee or a reopening starts a new round of reminders
        obj.reminder_round = (obj.reminder_round or 1) + 1
        replan(obj, settings_of(obj.workspace_id))


# --- the sweep -------------------------------------------------------------------------------


@dataclass
class SweepResult:
    decided: int = 0  # follow-ups whose stage was decided
    messages: int = 0  # messages queued

    def __str__(self) -> str:
        return f"{self.decided} reminder stage(s) decided, {self.messages} message(s) queued"


def claim_statement(now: datetime, batch_size: int, dialect_name: str):
    """The claim's SELECT (tests/benchmarks/bench_sweep.py explains this very statement)."""
    statement = (
        select(FollowUp.id, FollowUp.workspace_id)
        .where(FollowUp.next_stage_at <= now, FollowUp.status.in_(LIVE))
        .order_by(FollowUp.next_stage_at)
        .limit(batch_size)
    )
    if dialect_name == "postgresql":
        statement = statement.with_for_update(skip_locked=True, of=FollowUp)
    return statement


def _claim(now: datetime, batch_size: int) -> list[tuple[int, int]]:
    """(id, workspace id) of due follow-ups, oldest first; on PostgreSQL rows another worker
    holds are skipped, so two workers never decide the same row at once."""
    statement = claim_statement(now, batch_size, db.session.get_bind().dialect.name)
    with all_workspaces():
        return [(row.id, row.workspace_id) for row in db.session.execute(statement)]


def sweep(
    now: datetime | None = None,
    batch_size: int | None = None,
    max_batches: int | None = None,
    after_decide=None,
) -> SweepResult:
    """Decide every reminder stage due at `now`, one committed batch at a time.

    Each batch is claimed across workspaces, decided workspace by workspace (each in its own
    workspace_context: its follow-ups and members read there), then written workspace by
    workspace in one savepoint (_write): the messages, then the plans moved on.

    `after_decide(follow_up_id)` is a hook for tests that inject faults mid-batch: called for
    each follow-up of the batch once the batch is written, before it commits."""
    from crm.database import write_intent

    now = now or clock.now()
    batch_size = batch_size or current_app.config["SWEEP_BATCH_SIZE"]
    result = SweepResult()
    batches = 0
    token = write_intent.set(True)  # SQLite: take the write lock up front (BEGIN IMMEDIATE)
    try:
        while max_batches is None or batches < max_batches:
            claimed = _claim(now, batch_size)
            if not claimed:
                db.session.rollback()
                break
            by_workspace: dict[int, list[int]] = {}
            for follow_up_id, workspace_id in claimed:
                by_workspace.setdefault(workspace_id, []).append(follow_up_id)
            # a global table: the batch's workspaces in one query
            workspaces = {
                workspace.id: workspace
                for workspace in db.session.execute(
                    select(Workspace).where(Workspace.id.in_(by_workspace))
                ).scalars()
            }
            decided = []
            for workspace_id, ids in by_workspace.items():
                if workspace_id in workspaces:
                    with workspace_context(workspace_id):
                        decided.append(
                            _decide_workspace(ids, now, workspaces[workspace_id], result)
                        )
            _write(decided)
            if after_decide is not None:
                for part in decided:
                    for follow_up_id in part.ids:
                        after_decide(follow_up_id)
            db.session.commit()
            batches += 1
    finally:
        write_intent.reset(token)
    return result


# What a decision reads of a follow-up: plain rows, not objects (see _decide_workspace).
DECISION_COLUMNS = (
    FollowUp.id,
    FollowUp.public_id,
    FollowUp.title,
    FollowUp.subject_kind,
    FollowUp.assignee_id,
    FollowUp.due_at,
    FollowUp.timezone,
    FollowUp.status,
    FollowUp.next_stage,
    FollowUp.reminder_round,
)


@dataclass
class Decided:
    """One workspace's share of a batch: decided, not yet written."""

    workspace_id: int
    ids: list[int]  # every follow-up looked at, in id order
    plans: list[dict]  # {"id", "next_stage", "next_stage_at"}: the plans moved on
    drafts: list  # crm.messaging.services.Draft: the messages the decisions send
    snoozed: list[int]  # snoozed follow-ups found due: reopened


class Member(NamedTuple):
    """A recipient: a membership of the workspace and its user's address."""

    id: int
    user_id: int
    email: str
    name: str


def _decide_workspace(ids: list[int], now: datetime, workspace, result: SweepResult) -> Decided:
    """Decide the follow-ups `ids` of the current workspace: nothing written yet.

    The follow-ups are read as rows, with their assignees, and their plans are written by an
    UPDATE by primary key (_move_on), not through objects and the unit of work: the plan columns
    are the sweep's own bookkeeping (left out of the audit log, and of what the flush listener
    plans from), and objects would cost about as much as the rest of the decision. The admins
    are read only when an escalation is due."""
    workspace_id = current_workspace_id()
    part = Decided(workspace_id, [], [], [], [])
    rows = db.session.execute(
        select(
            *DECISION_COLUMNS,
            Membership.user_id.label("assignee_user_id"),
            User.email.label("assignee_email"),
            User.name.label("assignee_name"),
        )
        .outerjoin(Membership, Membership.id == FollowUp.assignee_id)
        .outerjoin(User, User.id == Membership.user_id)
        .where(FollowUp.id.in_(ids))
        .order_by(FollowUp.id)
    ).all()
    settings = Settings.of(workspace)
    admins: dict[str, list[Member]] = {}  # read once, at the first escalation

    def admins_of_workspace() -> list[Member]:
        if "read" not in admins:
            admins["read"] = [
                Member(*row)
                for row in db.session.execute(
                    select(Membership.id, Membership.user_id, User.email, User.name)
                    .join(User, User.id == Membership.user_id)
                    .where(Membership.role == Role.ADMIN)
                    .order_by(Membership.id)
                )
            ]
        return admins["read"]

    for row in rows:
        part.ids.append(row.id)
        if row.status is FollowUpStatus.SNOOZED:
            part.snoozed.append(row.id)
            continue
        assignee = None
        if row.assignee_user_id is not None:
            assignee = Member(
                row.assignee_id, row.assignee_user_id, row.assignee_email, row.assignee_name
            )
        plan, drafts = _decide(row, now, settings, assignee, admins_of_workspace, workspace, result)
        part.plans.append(plan)
        part.drafts += drafts
    return part


def _write(decided: list[Decided]) -> None:
    """The batch's messages and plans, workspace by workspace, in one savepoint.

    The messages' keys are looked up once for the batch. If another transaction queued one of
    them since (the unique index refuses the flush), the savepoint is rolled back, messages and
    plans alike, and the batch is written again with each message queued on its own
    (queue_message absorbs the duplicate): each email is still decided once."""
    from crm.messaging.services import add_messages, existing_messages, queue_each

    existing = existing_messages(draft.idempotency_key for part in decided for draft in part.drafts)
    try:
        with db.session.begin_nested():
            for part in decided:
                with workspace_context(part.workspace_id):
                    add_messages(part.drafts, existing)
                    _move_on(part)
                    db.session.flush()
    except IntegrityError:
        for part in decided:
            with workspace_context(part.workspace_id):
                queue_each(part.drafts)
                _move_on(part)
                db.session.flush()


def _move_on(part: Decided) -> None:
    """Write the workspace's new plans (bound: its workspace_context) and reopen the snoozed."""
    if part.plans:
        # by primary key, scoped by the tenancy (which needs synchronize_session=None); held
        # objects are expired below instead
        db.session.execute(
            update(FollowUp), part.plans, execution_options={"synchronize_session": None}
        )
        # a follow-up the caller holds as an object (decide_follow_up) reads its new plan
        for plan in part.plans:
            held = db.session.identity_map.get(db.session.identity_key(FollowUp, plan["id"]))
            if held is not None:
                db.session.expire(held, ["next_stage", "next_stage_at", "updated_at"])
    if part.snoozed:
        # left alone while snoozed; at the end of the snooze it is open again, and the flush
        # listener plans a new round from its (moved) due time: the next batch reminds it
        for follow_up in db.session.execute(
            select(FollowUp).where(FollowUp.id.in_(part.snoozed))
        ).scalars():
            follow_up.status = FollowUpStatus.OPEN


def _decide(follow_up, now, settings, assignee, admins, workspace, result) -> tuple[dict, list]:
    """The follow-up's next plan, and the drafts of the messages its stage sends."""
    times = stage_times(follow_up.due_at, follow_up.timezone, settings)
    due_stages = [s for s in range(follow_up.next_stage, 4) if times[s] <= now]
    if not due_stages:  # planned early (the settings changed since): wait for the real time
        plan = {"next_stage": follow_up.next_stage, "next_stage_at": times[follow_up.next_stage]}
        return {"id": follow_up.id, **plan}, []
    # the latest stage already due: a follow-up found late gets one message, not three
    stage = due_stages[-1]
    if stage < 3:
        recipients = [assignee] if assignee else []
    else:
        recipients = [m for m in admins() if m.id != follow_up.assignee_id]
    drafts = [_draft(follow_up, stage, member, assignee, workspace) for member in recipients]
    result.messages += len(drafts)
    result.decided += 1
    plan = {
        "id": follow_up.id,
        "next_stage": stage + 1 if stage < 3 else None,
        "next_stage_at": times[stage + 1] if stage < 3 else None,
    }
    return plan, drafts


SUBJECTS = {
    1: "A follow-up is due",
    2: "A follow-up is overdue",
    3: "Escalation: a colleague's follow-up is overdue",
}


def _draft(follow_up, stage, member, assignee, workspace):
    from crm.messaging.services import Draft

    base = current_app.config["BASE_URL"].rstrip("/")
    local_due = follow_up.due_at.astimezone(ZoneInfo(follow_up.timezone))
    kind = SUBJECT_KINDS.get(follow_up.subject_kind)
    about = kind.label if kind else "A record"
    whose = ""
    if stage == 3 and assignee is not None:
        whose = f"It is assigned to {assignee.name or assignee.email} and has not been done.\n\n"
    body = (
        f"{SUBJECTS[stage]} in {workspace.name}.\n\n"
        f"What: {follow_up.title}\n"
        f"About: {about} (the link shows which)\n"
        f"Due: {local_due:%A %B %-d, %Y at %H:%M} ({follow_up.timezone})\n\n"
        f"{whose}"
        f"Open it: {base}/follow-ups/{follow_up.public_id}\n\n"
        f"Which emails you get: {base}/account/notifications\n"
    )
    return Draft(
        kind=f"followup_stage_{stage}",
        idempotency_key=(
            f"followup:{follow_up.id}:r{follow_up.reminder_round}:s{stage}:{member.user_id}"
        ),
        recipient=member.email,
        recipient_user_id=member.user_id,
        subject=SUBJECTS[stage],
        body=body,
    )


def run_sweep(now: datetime) -> str:
    """The periodic job (tasks/schedule.py)."""
    from tasks.faults import hook

    return str(sweep(now, after_decide=hook("sweep.decided")))


def decide_follow_up(public_id, now: datetime) -> str:
    """Decide the stage due at `now` for one follow-up of the current workspace (a task's
    unit of work); a follow-up of another workspace is simply not found."""
    follow_up = db.session.execute(
        select(FollowUp).where(FollowUp.public_id == public_id)
    ).scalar_one_or_none()
    if follow_up is None:
        raise LookupError("no such follow-up in this workspace")
    if follow_up.status not in LIVE or follow_up.next_stage_at is None:
        return "nothing to decide"
    if follow_up.next_stage_at > now:
        return "not due yet"
    result = SweepResult()
    workspace = db.session.get(Workspace, follow_up.workspace_id)
    _write([_decide_workspace([follow_up.id], now, workspace, result)])
    return str(result)
