"""Follow-up pages: "my follow-ups" (overdue, today, this week, later), a new follow-up about a
record, its page with the history of its series, edit, and the quick actions done, snooze,
reopen and cancel. Follow-ups are staff-only: partners and viewers get 403 on every route."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from wtforms.fields.choices import SelectChoice

from crm import clock
from crm.extensions import db
from crm.followups.forms import (
    CADENCE_LABELS,
    EVERY_N_DAYS,
    ActionForm,
    DoneForm,
    FollowUpForm,
    NewFollowUpForm,
    SnoozeForm,
    WhoseForm,
)
from crm.followups.models import FollowUp, FollowUpStatus
from crm.followups.services import (
    DUE_YEARS,
    OVERDUE_BADGE_CAP,
    PENDING,
    FollowUpError,
    agenda_bounds,
    assignee_choices,
    cancel_follow_up,
    complete_follow_up,
    count_overdue,
    create_follow_up,
    find_assignee,
    load_follow_up,
    local_moment,
    pending_follow_ups,
    reopen_follow_up,
    series_of,
    snooze_follow_up,
    snooze_target,
    update_follow_up,
)
from crm.followups.subjects import (
    SUBJECT_KINDS,
    UnknownSubject,
    load_subject,
    subject_labels,
    subject_timezone,
)
from crm.roles import JAIL_ROLES, Role
from crm.web.access import allow
from crm.web.errors import error_response
from crm.web.pagination import page_number
from crm.web.templating import url_pattern

bp = Blueprint("followups", __name__, url_prefix="/follow-ups")

EVERYONE = "all"
SECTION_TITLES = {
    "overdue": "Overdue",
    "today": "Today",
    "week": "This week",
    "later": "Later",
}
# service error keys -> the form field that shows them
FIELD_OF = {"due_at": "due_date", "until": "until_date"}


# --- shown on every page: the menu's count of overdue follow-ups -----------------------------


@bp.app_context_processor
def _overdue_badge():
    def overdue_follow_ups() -> int:
        membership = g.get("membership")
        if membership is None or membership.role not in JAIL_ROLES:
            return 0
        return count_overdue(membership.id)

    return {"overdue_follow_ups": overdue_follow_ups, "OVERDUE_BADGE_CAP": OVERDUE_BADGE_CAP}


@bp.app_template_filter("due_local")
def due_local(follow_up: FollowUp, fmt: str = "%a %b %-d, %Y %H:%M") -> str:
    """A follow-up's due time on its own clock (its facility's zone, or the workspace's); the
    zone's abbreviation is added when it is not the workspace's."""
    zone = ZoneInfo(follow_up.timezone)
    shown = follow_up.due_at.astimezone(zone).strftime(fmt)
    membership = g.get("membership")
    if membership is None or membership.workspace.timezone != follow_up.timezone:
        shown += follow_up.due_at.astimezone(zone).strftime(" %Z")
    return shown


# --- helpers of the views -------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    label: str
    url: str | None
    kind_label: str


def subject_link(
    kind: str, subject_id: uuid.UUID, label: str | None, patterns: dict | None = None
) -> Subject:
    """A record's name with a link to its page; a kind whose page does not exist yet (or a
    record that is gone) is named without a link. `patterns` keeps each kind's URL pattern
    across the rows of one list."""
    subject_kind = SUBJECT_KINDS.get(kind)
    kind_label = subject_kind.label if subject_kind else kind
    if label is None:
        return Subject(f"A removed {kind_label.lower()}", None, kind_label)
    url = None
    if subject_kind is not None and subject_kind.endpoint in current_app.view_functions:
        patterns = {} if patterns is None else patterns
        if kind not in patterns:
            patterns[kind] = url_pattern(subject_kind.endpoint, f"{kind}_id")
        url = patterns[kind].format(subject_id)
    return Subject(label, url, kind_label)


def describe_subjects(follow_ups) -> dict[tuple[str, uuid.UUID], Subject]:
    """Name and link of each follow-up's record: one query per kind, never one per row."""
    pairs = {(f.subject_kind, f.subject_id) for f in follow_ups}
    labels = subject_labels(pairs)
    patterns: dict[str, str] = {}
    return {pair: subject_link(*pair, labels.get(pair), patterns) for pair in pairs}


def cadence_label(follow_up: FollowUp) -> str:
    days = follow_up.cadence_days
    if days:
        return "Every day" if days == 1 else f"Every {days} days"
    if follow_up.cadence_rrule:
        return CADENCE_LABELS.get(follow_up.cadence_rrule, follow_up.cadence_rrule)
    return ""


def member_name(membership) -> str:
    return membership.user.name or membership.user.email


def _with_assignees(form: FollowUpForm) -> FollowUpForm:
    form.assignee.choices = [
        SelectChoice(str(m.public_id), f"{member_name(m)} ({m.role.label})")
        for m in assignee_choices()
    ]
    return form


def _show_errors(form, error: FollowUpError) -> None:
    db.session.rollback()
    for name, message in error.errors.items():
        field = getattr(form, FIELD_OF.get(name, name), None)
        if field is not None:
            field.errors = [message]
        else:
            flash(message, "danger")


def _back(value: str | None, follow_up: FollowUp | None = None) -> str:
    """Where a quick action returns: a page of this blueprint named by the form (the list
    with its filters, say), never another site; else the follow-up's own page."""
    index = url_for(".index")
    if value and "\\" not in value:
        parts = urlsplit(value)
        if not parts.scheme and not parts.netloc and parts.path.startswith(index):
            return urlunsplit(("", "", parts.path, parts.query, ""))
    if follow_up is not None:
        return url_for(".show", follow_up_id=follow_up.public_id)
    return index


def _get_follow_up(follow_up_id: uuid.UUID) -> FollowUp:
    return load_follow_up(follow_up_id) or abort(404)


def _local_due(form, zone: ZoneInfo) -> datetime | None:
    """The form's due date and time on `zone`'s clock, in UTC; None with the field marked."""
    try:
        return local_moment(form.due_date.data, form.due_time.data, zone)
    except (ValueError, OverflowError) as error:
        form.due_time.errors = [_time_error(error)]
        return None


def _time_error(error: Exception) -> str:
    """A skipped hour says so; a year the zones cannot even convert gets the range."""
    if "clocks" in str(error):
        return str(error)
    return f"Choose a date between {DUE_YEARS[0]} and {DUE_YEARS[1]}."


# --- my follow-ups --------------------------------------------------------------------------


def _whose(membership) -> tuple[WhoseForm | None, int | None, str]:
    """Whose follow-ups the list shows: staff see their own; admins may pick a member or
    everyone. A bad choice (an old link) shows the admin's own."""
    if membership.role is not Role.ADMIN:
        return None, membership.id, "My follow-ups"
    members = assignee_choices()
    form = WhoseForm(request.args)
    form.who.choices = (
        [SelectChoice("", "Mine")]
        + [SelectChoice(str(m.public_id), member_name(m)) for m in members if m.id != membership.id]
        + [SelectChoice(EVERYONE, "Everyone: all open in this workspace")]
    )
    if not form.validate() or not form.who.data:
        form.who.data = ""
        return form, membership.id, "My follow-ups"
    if form.who.data == EVERYONE:
        return form, None, "All open follow-ups"
    chosen = next(m for m in members if str(m.public_id) == form.who.data)
    return form, chosen.id, f"Follow-ups of {member_name(chosen)}"


@bp.get("/")
@allow(Role.ADMIN, Role.STAFF)
def index():
    membership = g.membership
    whose, assignee_id, heading = _whose(membership)
    agenda = agenda_bounds(membership.workspace.timezone)
    per_page = current_app.config["PAGE_SIZE"]
    section = request.args.get("section", "")
    if section in SECTION_TITLES:
        shown = (section,)
        number = page_number()
    else:
        section, shown, number = "", ("overdue", "today", "week"), 1
    pages = {
        name: pending_follow_ups(
            assignee_id=assignee_id, section=name, agenda=agenda, page=number, per_page=per_page
        )
        for name in shown
    }
    subjects = describe_subjects(f for page in pages.values() for f in page.items)
    args = {"who": whose.who.data} if whose is not None and whose.who.data else {}
    return render_template(
        "followups/index.html",
        heading=heading,
        whose=whose,
        args=args,
        section=section,
        pages=pages,
        titles=SECTION_TITLES,
        subjects=subjects,
        everyone=assignee_id is None,
        week_last_day=agenda.week_end - timedelta(hours=12),
        back=request.full_path,
    )


# --- a new follow-up ------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.STAFF)
def new():
    kind = request.args.get("subject_kind", "")
    subject_id = request.args.get("subject_id", "")
    if not kind and not subject_id:
        flash("Open the record the follow-up is about and choose “Add a follow-up” there.", "info")
        return redirect(url_for(".index"))
    try:
        subject = load_subject(kind, subject_id)
    except UnknownSubject as error:
        return error_response(
            404, f"{error} A follow-up can only be about a live record of this workspace."
        )
    membership = g.membership
    zone_name = subject_timezone(kind, subject, membership.workspace.timezone)
    zone = ZoneInfo(zone_name)
    form = _with_assignees(NewFollowUpForm())
    if request.method == "GET":
        form.assignee.data = str(membership.public_id)
        form.due_date.data = clock.now().astimezone(zone).date() + timedelta(days=1)
    if form.validate_on_submit():
        due = _local_due(form, zone)
        if due is not None:
            every_n_days = form.cadence.data == EVERY_N_DAYS
            try:
                follow_up = create_follow_up(
                    subject_kind=kind,
                    subject_id=subject.public_id,
                    title=form.title.data or "",
                    assignee=find_assignee(form.assignee.data),
                    due_at=due,
                    notes=form.notes.data or "",
                    cadence_days=form.cadence_days.data if every_n_days else None,
                    cadence_rrule=None if every_n_days else (form.cadence.data or None),
                    created_by=membership,
                )
            except FollowUpError as error:
                _show_errors(form, error)
            else:
                db.session.commit()
                flash(f"Follow-up “{follow_up.title}” added.", "success")
                if follow_up.due_at < clock.now():
                    flash("Its due time has passed already: it is listed as overdue.", "warning")
                return redirect(url_for(".show", follow_up_id=follow_up.public_id))
    return render_template(
        "followups/form.html",
        form=form,
        follow_up=None,
        subject=subject_link(kind, subject.public_id, subject.name),
        zone_name=zone_name,
    ), (422 if form.errors else 200)


# --- one follow-up --------------------------------------------------------------------------


def _render_show(follow_up: FollowUp, *, done=None, snooze=None, status: int = 200):
    series = series_of(follow_up)
    subjects = describe_subjects([follow_up])
    return render_template(
        "followups/show.html",
        follow_up=follow_up,
        subject=subjects[(follow_up.subject_kind, follow_up.subject_id)],
        series=series,
        cadence=cadence_label(follow_up),
        pending=follow_up.status in PENDING,
        overdue=follow_up.status in PENDING and follow_up.due_at < clock.now(),
        done_form=done or DoneForm(formdata=None),
        snooze_form=snooze or SnoozeForm(formdata=None),
        Status=FollowUpStatus,
    ), status


@bp.get("/<uuid:follow_up_id>")
@allow(Role.ADMIN, Role.STAFF)
def show(follow_up_id: uuid.UUID):
    return _render_show(_get_follow_up(follow_up_id))


@bp.route("/<uuid:follow_up_id>/edit", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.STAFF)
def edit(follow_up_id: uuid.UUID):
    follow_up = _get_follow_up(follow_up_id)
    zone = ZoneInfo(follow_up.timezone)
    form = _with_assignees(FollowUpForm())
    if request.method == "GET":
        local = follow_up.due_at.astimezone(zone)
        form.title.data = follow_up.title
        form.notes.data = follow_up.notes
        form.assignee.data = str(follow_up.assignee.public_id)
        form.due_date.data = local.date()
        form.due_time.data = local.time().replace(tzinfo=None, fold=0)
    if form.validate_on_submit():
        due = _local_due(form, zone)
        if due is not None:
            try:
                update_follow_up(
                    follow_up,
                    title=form.title.data or "",
                    notes=form.notes.data or "",
                    due_at=due,
                    assignee=find_assignee(form.assignee.data),
                )
            except FollowUpError as error:
                _show_errors(form, error)
            else:
                db.session.commit()
                flash("Changes saved.", "success")
                return redirect(url_for(".show", follow_up_id=follow_up.public_id))
    return render_template(
        "followups/form.html",
        form=form,
        follow_up=follow_up,
        subject=describe_subjects([follow_up])[(follow_up.subject_kind, follow_up.subject_id)],
        zone_name=follow_up.timezone,
    ), (422 if form.errors else 200)


def _refused(follow_up: FollowUp, error: FollowUpError, back: str | None):
    """A state change that does not apply any more (done twice, in two tabs): say so."""
    db.session.rollback()
    for message in error.errors.values():
        flash(message, "danger")
    return redirect(_back(back, follow_up))


@bp.post("/<uuid:follow_up_id>/done")
@allow(Role.ADMIN, Role.STAFF)
def done(follow_up_id: uuid.UUID):
    follow_up = _get_follow_up(follow_up_id)
    form = DoneForm()
    if not form.validate_on_submit():
        return _render_show(follow_up, done=form, status=422)
    try:
        following = complete_follow_up(follow_up, form.note.data or "", g.membership)
    except FollowUpError as error:
        if "note" in error.errors:
            db.session.rollback()
            form.note.errors = [error.errors["note"]]
            return _render_show(follow_up, done=form, status=422)
        return _refused(follow_up, error, form.back.data)
    db.session.commit()
    message = f"“{follow_up.title}” is done."
    if following is not None:
        message += f" The next one is due {due_local(following)}."
    flash(message, "success")
    return redirect(_back(form.back.data, follow_up))


@bp.post("/<uuid:follow_up_id>/snooze")
@allow(Role.ADMIN, Role.STAFF)
def snooze(follow_up_id: uuid.UUID):
    follow_up = _get_follow_up(follow_up_id)
    form = SnoozeForm()
    if not form.validate_on_submit():
        return _render_show(follow_up, snooze=form, status=422)
    if form.until.data == "day":
        until = snooze_target(follow_up, 1)
    elif form.until.data == "week":
        until = snooze_target(follow_up, 7)
    else:
        try:
            until = local_moment(
                form.until_date.data, form.until_time.data, ZoneInfo(follow_up.timezone)
            )
        except (ValueError, OverflowError) as error:
            form.until_time.errors = [_time_error(error)]
            return _render_show(follow_up, snooze=form, status=422)
    try:
        snooze_follow_up(follow_up, until)
    except FollowUpError as error:
        if "status" in error.errors:
            return _refused(follow_up, error, form.back.data)
        _show_errors(form, error)
        return _render_show(follow_up, snooze=form, status=422)
    db.session.commit()
    flash(f"“{follow_up.title}” is snoozed until {due_local(follow_up)}.", "success")
    return redirect(_back(form.back.data, follow_up))


@bp.post("/<uuid:follow_up_id>/reopen")
@allow(Role.ADMIN, Role.STAFF)
def reopen(follow_up_id: uuid.UUID):
    follow_up = _get_follow_up(follow_up_id)
    form = ActionForm()  # its CSRF token was checked before the view; `back` is all it holds
    try:
        reopen_follow_up(follow_up)
    except FollowUpError as error:
        return _refused(follow_up, error, form.back.data)
    db.session.commit()
    flash(f"“{follow_up.title}” is open again.", "success")
    return redirect(_back(form.back.data, follow_up))


@bp.post("/<uuid:follow_up_id>/cancel")
@allow(Role.ADMIN, Role.STAFF)
def cancel(follow_up_id: uuid.UUID):
    follow_up = _get_follow_up(follow_up_id)
    form = ActionForm()
    try:
        cancel_follow_up(follow_up)
    except FollowUpError as error:
        return _refused(follow_up, error, form.back.data)
    db.session.commit()
    flash(f"“{follow_up.title}” is cancelled.", "success")
    return redirect(_back(form.back.data, follow_up))
