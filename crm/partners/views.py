"""Organization pages: the list with search, filters, sort and CSV export; the pipeline board;
an organization's page; create, edit (staff) and the partner's own profile; stage moves;
archive, restore and delete.

Admins and staff write; viewers read the list, pages (without staff-only sections), the
pipeline and the export; partners see and edit only their own organization's profile (the
tenancy scope finds no other) and have no pipeline.
"""

from __future__ import annotations

import uuid
from functools import partial

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from wtforms.fields.choices import SelectChoice

from crm.audit.services import record_export
from crm.database import write_intent
from crm.extensions import db
from crm.partners.forms import OrganizationForm, ProfileForm, SearchForm, StageForm
from crm.partners.models import Organization, OrganizationKind, Stage
from crm.partners.outreach import outreach_for
from crm.partners.services import (
    EXPORT_BATCH,
    EXPORT_MAX,
    PROFILE_FIELDS,
    ExportCursor,
    InvalidInput,
    OrganizationFilter,
    OrganizationInput,
    ProfileInput,
    Sort,
    WriteRefused,
    archive_organization,
    attached_to,
    change_stage,
    count_for_export,
    create_organization,
    delete_organization,
    export_batch,
    export_columns,
    load_organization,
    member_name,
    next_stage,
    owner_choices,
    pipeline,
    restore_organization,
    search_organizations,
    staff_sections,
    update_organization,
    update_profile,
)
from crm.roles import ALL_ROLES, JAIL_ROLES, Role
from crm.tenancy import get_or_404
from crm.web.access import allow, current_membership
from crm.web.csv_export import csv_download
from crm.web.pagination import page_number

bp = Blueprint("partners", __name__, url_prefix="/partners")

WRITERS = (Role.ADMIN, Role.STAFF)
READERS = (Role.ADMIN, Role.STAFF, Role.VIEWER)
FOLLOW_UP_NEW, FOLLOW_UP_SHOW = "followups.new", "followups.show"

bp.add_app_template_filter(next_stage, "next_stage")


def _is_staff() -> bool:
    membership = current_membership()
    return membership is not None and membership.role in JAIL_ROLES


# --- the list, the pipeline and the export share their filters ------------------------------


def _search() -> tuple[SearchForm, OrganizationFilter, str]:
    """The filters of the query string. A bad one (an old link, an edited URL) is left out and
    the others still apply. Owner filters are for staff only: the owner is staff-only."""
    search = SearchForm(request.args)
    staff = _is_staff()
    owners = owner_choices() if staff else []
    search.owner.choices = [SelectChoice("", "Anyone")]
    if staff:
        search.owner.choices += [SelectChoice("mine", "Mine"), SelectChoice("none", "Nobody yet")]
        search.owner.choices += [SelectChoice(str(m.public_id), member_name(m)) for m in owners]
    search.validate()
    value = {name: ("" if f.errors else (f.data or "")) for name, f in search._fields.items()}
    owner_id, unowned, owner_label = None, False, ""
    if staff and value["owner"] == "mine":
        owner_id, owner_label = current_membership().id, "mine"
    elif staff and value["owner"] == "none":
        unowned = True
    elif staff and value["owner"]:
        chosen = next(m for m in owners if str(m.public_id) == value["owner"])
        owner_id, owner_label = chosen.id, str(chosen.public_id)
    filters = OrganizationFilter(
        query=value["q"],
        kind=OrganizationKind(value["kind"]) if value["kind"] else None,
        stage=Stage(value["stage"]) if value["stage"] else None,
        owner_id=owner_id,
        unowned=unowned,
        include_archived=bool(value["archived"]),
        sort=Sort(value["sort"]) if value["sort"] else Sort.NAME,
    )
    return search, filters, owner_label


def _list_args(*dropped: str) -> dict[str, str]:
    """The query string to carry over to pages, exports and "more" links."""
    return {k: v for k, v in request.args.items() if v and k not in ("page", *dropped)}


@bp.get("/")
@allow(*ALL_ROLES)
def index():
    staff = _is_staff()
    search, filters, _owner = _search()
    page = search_organizations(
        filters,
        page=page_number(),
        per_page=current_app.config["PAGE_SIZE"],
        with_owner=staff,
    )
    return render_template(
        "partners/index.html",
        search=search,
        page=page,
        args=_list_args(),
        staff=staff,
        sort=filters.sort,
        member_name=member_name,
    )


@bp.get("/export.csv")
@allow(*ALL_ROLES)
def export():
    """The filtered list, all pages, as CSV: streamed in batches, at most EXPORT_MAX rows,
    audited (filters, columns, size) before the first row leaves."""
    _search_form, filters, owner_label = _search()
    columns = export_columns()
    # An audited read is a write: end the request's read transaction, so on SQLite the next
    # one begins with the write lock (BEGIN IMMEDIATE) instead of failing to upgrade.
    db.session.commit()
    limit, size = EXPORT_MAX, EXPORT_BATCH
    token = write_intent.set(True)
    try:
        found = count_for_export(filters, limit)
        record_export(
            "Organization",
            {
                "format": "csv",
                "rows": min(found, limit),
                "truncated": found > limit,
                "filters": filters.described(owner_label),
                "columns": list(columns),
            },
        )
        db.session.commit()
    finally:
        write_intent.reset(token)
    first = export_batch(filters, ExportCursor(left=limit), size)
    headers = {"X-Export-Truncated": "true"} if found > limit else None
    return csv_download(
        "organizations", columns, first, partial(export_batch, filters, size=size), headers
    )


@bp.get("/pipeline")
@allow(*READERS)
def pipeline_board():
    staff = _is_staff()
    search, filters, _owner = _search()
    return render_template(
        "partners/pipeline.html",
        search=search,
        columns=pipeline(filters),
        args=_list_args("stage", "sort"),
        staff=staff,
        stage_form=StageForm() if staff else None,
    )


# --- one organization -----------------------------------------------------------------------


def _show_page(organization: Organization, stage_form: StageForm | None = None):
    """The page: profile; contacts and outreach log (crm/partners/outreach.py and its
    partials); for staff, stage history and follow-ups. A fixed number of queries."""
    staff = _is_staff()
    contacts, activities = outreach_for(organization)
    if staff and stage_form is None:
        stage_form = StageForm(formdata=None, stage=organization.stage.value)
    views = current_app.view_functions
    return render_template(
        "partners/show.html",
        organization=organization,
        contacts=contacts,
        activities=activities,
        staff_sections=staff_sections(organization),
        staff=staff,
        stage_form=stage_form,
        next_stage=next_stage(organization.stage),
        # the follow-up pages are another part of the app: linked once they exist
        can_add_follow_up=FOLLOW_UP_NEW in views,
        can_open_follow_up=FOLLOW_UP_SHOW in views,
        member_name=member_name,
    )


@bp.get("/<uuid:organization_id>")
@allow(*ALL_ROLES)
def show(organization_id: uuid.UUID):
    organization = load_organization(organization_id, with_owner=_is_staff()) or abort(404)
    return _show_page(organization)


def _with_owner_choices(form: OrganizationForm) -> OrganizationForm:
    form.owner.choices = [SelectChoice("", "Nobody yet")] + [
        SelectChoice(str(m.public_id), member_name(m)) for m in owner_choices()
    ]
    return form


def _input(form: OrganizationForm) -> OrganizationInput:
    return OrganizationInput(
        name=form.name.data or "",
        kind=form.kind.data or "",
        stage=form.stage.data or Stage.IDENTIFIED,
        interests=form.interests.data or "",
        owner=form.owner.data or None,
        **{name: form[name].data or "" for name in PROFILE_FIELDS},
    )


def _show_errors(form, error: InvalidInput) -> None:
    db.session.rollback()
    for name, message in error.errors.items():
        form[name].errors = [message]


def _form_page(form, organization: Organization | None):
    return render_template(
        "partners/form.html", form=form, organization=organization, staff=_is_staff()
    ), (422 if form.errors else 200)


@bp.route("/new", methods=["GET", "POST"])
@allow(*WRITERS)
def new():
    form = _with_owner_choices(OrganizationForm())
    if form.validate_on_submit():
        try:
            organization = create_organization(_input(form), by=current_membership())
        except InvalidInput as error:
            _show_errors(form, error)
        else:
            db.session.commit()
            flash(f"{organization.name} was added.", "success")
            return redirect(url_for(".show", organization_id=organization.public_id))
    return _form_page(form, None)


@bp.route("/<uuid:organization_id>/edit", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.STAFF, Role.PARTNER)
def edit(organization_id: uuid.UUID):
    """Staff and admins edit everything; a partner edits their own organization's profile
    with a form that has no other fields, through a service that writes no other fields."""
    if not _is_staff():
        return _edit_profile(organization_id)
    organization = load_organization(organization_id) or abort(404)
    form = _with_owner_choices(OrganizationForm(obj=organization))
    if request.method == "GET":
        form.owner.data = str(organization.owner.public_id) if organization.owner else ""
    if form.validate_on_submit():
        try:
            update_organization(organization, _input(form), by=current_membership())
        except InvalidInput as error:
            _show_errors(form, error)
        else:
            db.session.commit()
            flash("Changes saved.", "success")
            return redirect(url_for(".show", organization_id=organization.public_id))
    return _form_page(form, organization)


def _edit_profile(organization_id: uuid.UUID):
    organization = load_organization(organization_id, with_owner=False) or abort(404)
    form = ProfileForm(obj=organization)
    if form.validate_on_submit():
        data = ProfileInput(**{name: form[name].data or "" for name in PROFILE_FIELDS})
        try:
            update_profile(organization, data)
        except InvalidInput as error:
            _show_errors(form, error)
        else:
            db.session.commit()
            flash("Your organization's profile was saved.", "success")
            return redirect(url_for(".show", organization_id=organization.public_id))
    return _form_page(form, organization)


def _back(organization: Organization, return_to: str | None):
    if return_to == "pipeline":
        return redirect(url_for(".pipeline_board"))
    return redirect(url_for(".show", organization_id=organization.public_id))


@bp.post("/<uuid:organization_id>/stage")
@allow(*WRITERS)
def stage(organization_id: uuid.UUID):
    """Move an organization in the pipeline (the form field `stage`); the "Move to …"
    buttons send the stage they showed, so a stale page moves nothing."""
    organization = load_organization(organization_id) or abort(404)
    form = StageForm()
    if not form.validate_on_submit():
        return _show_page(organization, form), 422
    name = organization.name
    try:
        change = change_stage(
            organization,
            form.stage.data,
            current_membership(),
            form.note.data or "",
            expected_from=form.from_stage.data or None,
        )
    except InvalidInput as error:
        _show_errors(form, error)
        return _show_page(organization, form), 422
    except WriteRefused as refused:
        db.session.rollback()
        flash(str(refused), "warning")
        return _back(organization, form.return_to.data)
    db.session.commit()
    flash(f"{name} moved to {change.to_stage.label}.", "success")
    return _back(organization, form.return_to.data)


@bp.post("/<uuid:organization_id>/archive")
@allow(*WRITERS)
def archive(organization_id: uuid.UUID):
    organization = get_or_404(Organization, organization_id)
    name = organization.name
    cancelled = archive_organization(organization)
    db.session.commit()
    note = f" {cancelled} open follow-up(s) about it were cancelled." if cancelled else ""
    flash(f"{name} was archived: it left the lists and the pipeline.{note}", "success")
    return redirect(url_for(".show", organization_id=organization_id))


@bp.post("/<uuid:organization_id>/restore")
@allow(*WRITERS)
def restore(organization_id: uuid.UUID):
    organization = get_or_404(Organization, organization_id)
    name = organization.name
    restore_organization(organization)
    db.session.commit()
    flash(f"{name} was restored to the lists and the pipeline.", "success")
    return redirect(url_for(".show", organization_id=organization_id))


@bp.route("/<uuid:organization_id>/delete", methods=["GET", "POST"])
@allow(*WRITERS)
def delete(organization_id: uuid.UUID):
    organization = get_or_404(Organization, organization_id)
    if request.method == "POST":
        name = organization.name
        try:
            delete_organization(organization)
        except WriteRefused as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".show", organization_id=organization_id))
        db.session.commit()
        flash(f"{name} was deleted.", "success")
        return redirect(url_for(".index"))
    return render_template(
        "partners/delete.html", organization=organization, attached=attached_to(organization)
    )
