"""Facility pages: the list, a facility's page, and the forms of facilities, units, rooms and
visitor rules, with archive and restore. Staff and admins write, viewers read, partners see none
of these yet."""

from __future__ import annotations

import uuid
from collections.abc import Callable

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

from crm.extensions import db
from crm.facilities import services
from crm.facilities.forms import FacilityForm, LocationForm, RuleForm, UnitForm, timezone_names
from crm.facilities.models import Facility
from crm.facilities.services import (
    FacilityInput,
    InvalidInput,
    LocationInput,
    RuleInput,
    UnitInput,
    WriteRefused,
)
from crm.roles import Role
from crm.tenancy import get_or_404
from crm.web.access import allow
from crm.web.pagination import page_number

bp = Blueprint("facilities", __name__, url_prefix="/facilities")

WRITERS = (Role.ADMIN, Role.STAFF)
READERS = (Role.ADMIN, Role.STAFF, Role.VIEWER)


def _facility_url(facility: Facility) -> str:
    return url_for(".show", facility_id=facility.public_id)


def _refused(error: WriteRefused, facility: Facility):
    db.session.rollback()
    flash(str(error), "danger")
    return redirect(_facility_url(facility))


def _save(form, write: Callable[[], object]) -> bool:
    """Run the service on a valid POST; on bad input put its messages on the fields and roll
    back. True when the write went through (and was committed)."""
    if not form.validate_on_submit():
        return False
    try:
        write()
    except InvalidInput as error:
        db.session.rollback()
        for name, message in error.errors.items():
            getattr(form, name).errors = [message]
        return False
    db.session.commit()
    return True


def _form_page(template: str, form, **context):
    return render_template(template, form=form, **context), (422 if form.errors else 200)


# --- facilities -----------------------------------------------------------------------------


@bp.get("/")
@allow(*READERS)
def index():
    include_archived = request.args.get("archived") == "1"
    page = services.list_facilities(
        include_archived=include_archived,
        page=page_number(),
        per_page=current_app.config["PAGE_SIZE"],
    )
    args = {"archived": "1"} if include_archived else {}
    return render_template(
        "facilities/index.html", page=page, args=args, include_archived=include_archived
    )


def _facility_input(form: FacilityForm) -> FacilityInput:
    return FacilityInput(
        name=form.name.data or "",
        timezone=form.timezone.data or "",
        address=form.address.data or "",
        capacity=form.capacity.data,
    )


@bp.route("/new", methods=["GET", "POST"])
@allow(*WRITERS)
def new():
    form = FacilityForm()
    if request.method == "GET":
        form.timezone.data = g.membership.workspace.timezone
    made: list[Facility] = []
    if _save(form, lambda: made.append(services.create_facility(_facility_input(form)))):
        flash(f"{made[0].name} was added.", "success")
        return redirect(_facility_url(made[0]))
    return _form_page("facilities/form.html", form, facility=None, timezone_names=timezone_names())


@bp.get("/<uuid:facility_id>")
@allow(*READERS)
def show(facility_id: uuid.UUID):
    page = services.facility_page(facility_id) or abort(404)
    return render_template("facilities/show.html", page=page, facility=page.facility)


@bp.route("/<uuid:facility_id>/edit", methods=["GET", "POST"])
@allow(*WRITERS)
def edit(facility_id: uuid.UUID):
    facility = get_or_404(Facility, facility_id)
    try:
        services.require_live(facility)
    except WriteRefused as error:
        return _refused(error, facility)
    form = FacilityForm(obj=facility)
    if _save(form, lambda: services.update_facility(facility, _facility_input(form))):
        flash("Changes saved.", "success")
        return redirect(_facility_url(facility))
    return _form_page(
        "facilities/form.html", form, facility=facility, timezone_names=timezone_names()
    )


@bp.post("/<uuid:facility_id>/archive")
@allow(*WRITERS)
def archive(facility_id: uuid.UUID):
    facility = get_or_404(Facility, facility_id)
    cancelled = services.archive_facility(facility)
    db.session.commit()
    message = f"{facility.name} was archived."
    if cancelled:
        message += f" {cancelled} open follow-up(s) about it were cancelled."
    flash(message, "success")
    return redirect(_facility_url(facility))


@bp.post("/<uuid:facility_id>/restore")
@allow(*WRITERS)
def restore(facility_id: uuid.UUID):
    facility = get_or_404(Facility, facility_id)
    services.restore_facility(facility)
    db.session.commit()
    flash(f"{facility.name} was restored.", "success")
    return redirect(_facility_url(facility))


# --- units ----------------------------------------------------------------------------------


def _unit_form(**kwargs) -> tuple[UnitForm, dict[int, str]]:
    """The form with the workspace's staff and admins to choose from, and their public ids by
    membership id (to tick the officers already assigned)."""
    form = UnitForm(**kwargs)
    members = services.officer_choices()
    form.officers.choices = [
        SelectChoice(str(m.public_id), m.user.name or m.user.email) for m in members
    ]
    return form, {m.id: str(m.public_id) for m in members}


def _unit_input(form: UnitForm) -> UnitInput:
    return UnitInput(
        name=form.name.data or "",
        sex=form.sex.data or "",
        capacity=form.capacity.data,
        officers=list(form.officers.data or []),
    )


@bp.route("/<uuid:facility_id>/units/new", methods=["GET", "POST"])
@allow(*WRITERS)
def new_unit(facility_id: uuid.UUID):
    facility = get_or_404(Facility, facility_id)
    try:
        services.require_live(facility)
    except WriteRefused as error:
        return _refused(error, facility)
    form, _ids = _unit_form()
    made: list = []
    if _save(form, lambda: made.append(services.create_unit(facility, _unit_input(form)))):
        flash(f"{made[0].name} was added to {facility.name}.", "success")
        return redirect(_facility_url(facility))
    return _form_page("facilities/unit_form.html", form, facility=facility, unit=None)


@bp.route("/units/<uuid:unit_id>/edit", methods=["GET", "POST"])
@allow(*WRITERS)
def edit_unit(unit_id: uuid.UUID):
    unit = services.load_unit(unit_id) or abort(404)
    facility = unit.facility
    try:
        services.require_live(facility, unit, "unit")
    except WriteRefused as error:
        return _refused(error, facility)
    form, public_ids = _unit_form(
        data={"name": unit.name, "sex": unit.sex.value, "capacity": unit.capacity}
    )
    if request.method == "GET":
        form.officers.data = [
            public_ids[o.membership_id] for o in unit.officers if o.membership_id in public_ids
        ]
    if _save(form, lambda: services.update_unit(unit, _unit_input(form))):
        flash("Changes saved.", "success")
        return redirect(_facility_url(facility))
    return _form_page("facilities/unit_form.html", form, facility=facility, unit=unit)


def _archive_or_restore(loader, record_id: uuid.UUID, action, message: str):
    record = loader(record_id) or abort(404)
    facility = record.facility  # the relationship expires with the commit; the object stays
    try:
        action(record)
    except WriteRefused as error:
        return _refused(error, facility)
    db.session.commit()
    flash(message.format(name=getattr(record, "name", "")), "success")
    return redirect(_facility_url(facility))


@bp.post("/units/<uuid:unit_id>/archive")
@allow(*WRITERS)
def archive_unit(unit_id: uuid.UUID):
    return _archive_or_restore(
        services.load_unit, unit_id, services.archive_part, "{name} was archived."
    )


@bp.post("/units/<uuid:unit_id>/restore")
@allow(*WRITERS)
def restore_unit(unit_id: uuid.UUID):
    return _archive_or_restore(
        services.load_unit, unit_id, services.restore_part, "{name} was restored."
    )


# --- locations (rooms) ----------------------------------------------------------------------


def _location_input(form: LocationForm) -> LocationInput:
    return LocationInput(
        name=form.name.data or "", kind=form.kind.data or "", capacity=form.capacity.data
    )


@bp.route("/<uuid:facility_id>/locations/new", methods=["GET", "POST"])
@allow(*WRITERS)
def new_location(facility_id: uuid.UUID):
    facility = get_or_404(Facility, facility_id)
    try:
        services.require_live(facility)
    except WriteRefused as error:
        return _refused(error, facility)
    form = LocationForm()
    made: list = []
    if _save(form, lambda: made.append(services.create_location(facility, _location_input(form)))):
        flash(f"{made[0].name} was added to {facility.name}.", "success")
        return redirect(_facility_url(facility))
    return _form_page("facilities/location_form.html", form, facility=facility, location=None)


@bp.route("/locations/<uuid:location_id>/edit", methods=["GET", "POST"])
@allow(*WRITERS)
def edit_location(location_id: uuid.UUID):
    location = services.load_location(location_id) or abort(404)
    facility = location.facility
    try:
        services.require_live(facility, location, "room")
    except WriteRefused as error:
        return _refused(error, facility)
    form = LocationForm(
        data={"name": location.name, "kind": location.kind.value, "capacity": location.capacity}
    )
    if _save(form, lambda: services.update_location(location, _location_input(form))):
        flash("Changes saved.", "success")
        return redirect(_facility_url(facility))
    return _form_page("facilities/location_form.html", form, facility=facility, location=location)


@bp.post("/locations/<uuid:location_id>/archive")
@allow(*WRITERS)
def archive_location(location_id: uuid.UUID):
    return _archive_or_restore(
        services.load_location, location_id, services.archive_part, "{name} was archived."
    )


@bp.post("/locations/<uuid:location_id>/restore")
@allow(*WRITERS)
def restore_location(location_id: uuid.UUID):
    return _archive_or_restore(
        services.load_location, location_id, services.restore_part, "{name} was restored."
    )


# --- rules for visitors ---------------------------------------------------------------------


def _rule_input(form: RuleForm) -> RuleInput:
    return RuleInput(topic=form.topic.data or "", text=form.text.data or "")


@bp.route("/<uuid:facility_id>/rules/new", methods=["GET", "POST"])
@allow(*WRITERS)
def new_rule(facility_id: uuid.UUID):
    facility = get_or_404(Facility, facility_id)
    try:
        services.require_live(facility)
    except WriteRefused as error:
        return _refused(error, facility)
    form = RuleForm()
    if _save(form, lambda: services.create_rule(facility, _rule_input(form))):
        flash("The rule was added.", "success")
        return redirect(_facility_url(facility))
    return _form_page("facilities/rule_form.html", form, facility=facility, rule=None)


@bp.route("/rules/<uuid:facility_rule_id>/edit", methods=["GET", "POST"])
@allow(*WRITERS)
def edit_rule(facility_rule_id: uuid.UUID):
    rule = services.load_rule(facility_rule_id) or abort(404)
    facility = rule.facility
    try:
        services.require_live(facility, rule, "rule")
    except WriteRefused as error:
        return _refused(error, facility)
    form = RuleForm(data={"topic": rule.topic.value, "text": rule.text})
    if _save(form, lambda: services.update_rule(rule, _rule_input(form))):
        flash("Changes saved.", "success")
        return redirect(_facility_url(facility))
    return _form_page("facilities/rule_form.html", form, facility=facility, rule=rule)


@bp.post("/rules/<uuid:facility_rule_id>/archive")
@allow(*WRITERS)
def archive_rule(facility_rule_id: uuid.UUID):
    return _archive_or_restore(
        services.load_rule, facility_rule_id, services.archive_rule, "The rule was archived."
    )


@bp.post("/rules/<uuid:facility_rule_id>/restore")
@allow(*WRITERS)
def restore_rule(facility_rule_id: uuid.UUID):
    return _archive_or_restore(
        services.load_rule, facility_rule_id, services.restore_rule, "The rule was restored."
    )
