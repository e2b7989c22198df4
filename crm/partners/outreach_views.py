"""Contact and outreach-log pages, on the partners blueprint: contacts are added and edited by
staff and by the organization's own partner users; activities are logged, edited and deleted
by staff only (partners and viewers never see the log)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from crm import clock
from crm.extensions import db
from crm.partners import outreach
from crm.partners.models import Activity, Organization
from crm.partners.outreach_forms import DEFAULT_NEXT_STEP_TIME, ActivityForm, ContactForm
from crm.partners.services import InvalidInput
from crm.partners.views import bp
from crm.roles import JAIL_ROLES, Role
from crm.tenancy import get_or_404
from crm.web.access import allow, current_membership

CONTACT_ROLES = (Role.ADMIN, Role.STAFF, Role.PARTNER)
ACTIVITY_ROLES = (Role.ADMIN, Role.STAFF)

bp.add_app_template_filter(outreach.tel_uri, "tel_uri")
bp.add_app_template_global(outreach.attendee_name, "attendee_name")


def _organization_page(organization: Organization, section: str) -> str:
    return url_for(".show", organization_id=organization.public_id, _anchor=section)


def _show_errors(form, error: InvalidInput) -> None:
    """The service's messages next to their fields; the others above the form."""
    db.session.rollback()
    for name, message in error.errors.items():
        if name in form:
            form[name].errors = [message]
        else:
            form.form_errors.append(message)


def _page(template: str, form, **context):
    return render_template(template, form=form, **context), (422 if form.errors else 200)


# --- contacts -----------------------------------------------------------------------------------


def _contact_form(form: ContactForm) -> ContactForm:
    if current_membership().role not in JAIL_ROLES:
        del form.notes  # staff-only: never shown to partners, and never read from what they post
    return form


def _contact_input(form: ContactForm) -> outreach.ContactInput:
    return outreach.ContactInput(
        name=form.name.data or "",
        title=form.title.data or "",
        email=form.email.data or "",
        phone=form.phone.data or "",
        phone_alt=form.phone_alt.data or "",
        notes=(form.notes.data or "") if "notes" in form else None,
    )


@bp.route("/<uuid:organization_id>/contacts/new", methods=["GET", "POST"])
@allow(*CONTACT_ROLES)
def new_contact(organization_id: uuid.UUID):
    organization = get_or_404(Organization, organization_id)
    form = _contact_form(ContactForm())
    if form.validate_on_submit():
        try:
            contact = outreach.create_contact(organization, _contact_input(form))
        except InvalidInput as error:
            _show_errors(form, error)
        else:
            db.session.commit()
            flash(f"{contact.name} was added.", "success")
            return redirect(_organization_page(organization, "contacts"))
    return _page("partners/contact_form.html", form, organization=organization, contact=None)


@bp.route("/contacts/<uuid:contact_id>/edit", methods=["GET", "POST"])
@allow(*CONTACT_ROLES)
def edit_contact(contact_id: uuid.UUID):
    contact = outreach.load_contact(contact_id) or abort(404)
    organization = contact.organization
    form = _contact_form(ContactForm(obj=contact))
    if form.validate_on_submit():
        try:
            outreach.update_contact(contact, _contact_input(form))
        except InvalidInput as error:
            _show_errors(form, error)
        else:
            db.session.commit()
            flash("Changes saved.", "success")
            return redirect(_organization_page(organization, "contacts"))
    return _page("partners/contact_form.html", form, organization=organization, contact=contact)


@bp.post("/contacts/<uuid:contact_id>/archive")
@allow(*CONTACT_ROLES)
def archive_contact(contact_id: uuid.UUID):
    contact = outreach.load_contact(contact_id) or abort(404)
    organization = contact.organization
    outreach.archive_contact(contact)
    db.session.commit()
    flash(f"{contact.name} was archived: past activities still name them.", "success")
    return redirect(_organization_page(organization, "contacts"))


# --- activities ---------------------------------------------------------------------------------


def _with_choices(form: ActivityForm, organization: Organization, activity: Activity | None):
    attending = activity.attendees if activity is not None else []
    facilities = outreach.live_facilities(also=activity.facility_id if activity else None)
    contacts = outreach.contacts_of(
        organization, also=[a.contact_id for a in attending if a.contact_id is not None]
    )
    staff = outreach.staff_members()
    me = current_membership()
    form.facility.choices = [SelectChoice("", "None")] + [
        SelectChoice(str(f.public_id), f.name) for f in facilities
    ]
    form.contacts.choices = [
        SelectChoice(str(c.public_id), f"{c.name}, {c.title}" if c.title else c.name)
        for c in contacts
    ]
    form.staff.choices = [SelectChoice(str(m.public_id), _member_label(m)) for m in staff]
    form.next_step_assignee.choices = [SelectChoice("", f"Me ({_member_label(me)})")] + [
        SelectChoice(str(m.public_id), _member_label(m)) for m in staff if m.id != me.id
    ]
    return form


def _member_label(membership) -> str:
    return membership.user.name or membership.user.email


def _activity_input(form: ActivityForm) -> outreach.ActivityInput:
    due = None
    if form.next_step_due.data is not None:
        due = datetime.combine(
            form.next_step_due.data, form.next_step_time.data or DEFAULT_NEXT_STEP_TIME
        )
    return outreach.ActivityInput(
        kind=form.kind.data or "",
        occurred_at=form.occurred_at.data,
        facility=form.facility.data or None,
        contacts=form.contacts.data or [],
        staff=form.staff.data or [],
        summary=form.summary.data or "",
        outcome=form.outcome.data or "",
        next_step=form.next_step.data or "",
        next_step_due=due,
        next_step_assignee=form.next_step_assignee.data or None,
        advance_stage=bool(form.advance_stage.data),
    )


def _timezone() -> str:
    return current_membership().workspace.timezone


def _now_on_the_wall() -> datetime:
    """Now on the workspace's clock, to the five minutes before: the usual "just happened"."""
    now = outreach.local_wall_clock(clock.now(), _timezone()).replace(second=0, microsecond=0)
    return now - timedelta(minutes=now.minute % 5)


@bp.route("/<uuid:organization_id>/activities/new", methods=["GET", "POST"])
@allow(*ACTIVITY_ROLES)
def new_activity(organization_id: uuid.UUID):
    organization = get_or_404(Organization, organization_id)
    form = ActivityForm()
    if request.method == "GET":
        form.occurred_at.data = _now_on_the_wall()
        form.advance_stage.data = True
    _with_choices(form, organization, None)
    if form.validate_on_submit():
        try:
            activity = outreach.log_activity(
                organization, _activity_input(form), by=current_membership()
            )
        except InvalidInput as error:
            _show_errors(form, error)
        else:
            db.session.commit()
            message = f"The {activity.kind.label.lower()} was logged."
            if form.next_step_due.data is not None:
                message += " Its next step is on the follow-up list."
            flash(message, "success")
            return redirect(_organization_page(organization, "activities"))
    return _page("partners/activity_form.html", form, organization=organization, activity=None)


def _activity_data(activity: Activity) -> dict:
    return {
        "kind": activity.kind.value,
        "occurred_at": outreach.local_wall_clock(activity.occurred_at, _timezone()),
        "facility": str(activity.facility.public_id) if activity.facility else "",
        "contacts": [str(a.contact.public_id) for a in activity.attendees if a.contact],
        "staff": [str(a.membership.public_id) for a in activity.attendees if a.membership],
        "summary": activity.summary,
        "outcome": activity.outcome,
        "next_step": activity.next_step,
        "advance_stage": False,
    }


@bp.route("/activities/<uuid:activity_id>/edit", methods=["GET", "POST"])
@allow(*ACTIVITY_ROLES)
def edit_activity(activity_id: uuid.UUID):
    activity, organization = outreach.load_activity(activity_id) or abort(404)
    form = ActivityForm(data=_activity_data(activity) if request.method == "GET" else None)
    _with_choices(form, organization, activity)
    if form.validate_on_submit():
        try:
            outreach.update_activity(
                activity, organization, _activity_input(form), by=current_membership()
            )
        except InvalidInput as error:
            _show_errors(form, error)
        else:
            db.session.commit()
            message = "Changes saved."
            if form.next_step_due.data is not None:
                message += " The next step is on the follow-up list."
            flash(message, "success")
            return redirect(_organization_page(organization, "activities"))
    return _page("partners/activity_form.html", form, organization=organization, activity=activity)


@bp.post("/activities/<uuid:activity_id>/delete")
@allow(*ACTIVITY_ROLES)
def delete_activity(activity_id: uuid.UUID):
    activity, organization = outreach.load_activity(activity_id) or abort(404)
    outreach.delete_activity(activity)
    db.session.commit()
    flash("The activity was deleted. Follow-ups it made are still on their lists.", "success")
    return redirect(_organization_page(organization, "activities"))
