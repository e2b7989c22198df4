"""Organization pages: list with search and filters, create, show, edit, delete."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from crm.extensions import db
from crm.partners.forms import OrganizationForm, SearchForm
from crm.partners.models import Organization, OrganizationKind, Stage
from crm.partners.services import (
    InvalidInput,
    OrganizationInput,
    StillReferenced,
    create_organization,
    delete_organization,
    load_organization,
    owner_choices,
    search_organizations,
    update_organization,
)
from crm.roles import ALL_ROLES, Role
from crm.tenancy import get_or_404
from crm.web.access import allow
from crm.web.pagination import page_number

bp = Blueprint("partners", __name__, url_prefix="/partners")


def _with_owner_choices(form: OrganizationForm) -> OrganizationForm:
    form.owner.choices = [SelectChoice("", "Nobody yet")] + [
        SelectChoice(str(m.public_id), m.user.name or m.user.email) for m in owner_choices()
    ]
    return form


def _input(form: OrganizationForm) -> OrganizationInput:
    return OrganizationInput(
        name=form.name.data or "",
        kind=form.kind.data or "",
        stage=form.stage.data or Stage.IDENTIFIED,
        mission=form.mission.data or "",
        interests=form.interests.data or "",
        owner=form.owner.data or None,
    )


def _show_errors(form: OrganizationForm, error: InvalidInput) -> None:
    db.session.rollback()
    for name, message in error.errors.items():
        getattr(form, name).errors = [message]


@bp.get("/")
@allow(*ALL_ROLES)
def index():
    search = SearchForm(request.args)
    search.validate()
    # A bad filter (an old link, an edited URL) is left out; the others still apply.
    fields = (search.q, search.kind, search.stage)
    query, kind, stage = ("" if f.errors else (f.data or "") for f in fields)
    page = search_organizations(
        query=query,
        kind=OrganizationKind(kind) if kind else None,
        stage=Stage(stage) if stage else None,
        page=page_number(),
        per_page=current_app.config["PAGE_SIZE"],
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("partners/index.html", search=search, page=page, args=args)


@bp.route("/new", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.STAFF)
def new():
    form = _with_owner_choices(OrganizationForm())
    if form.validate_on_submit():
        try:
            organization = create_organization(_input(form))
        except InvalidInput as error:
            _show_errors(form, error)
        else:
            db.session.commit()
            flash(f"{organization.name} was added.", "success")
            return redirect(url_for(".show", organization_id=organization.public_id))
    return render_template("partners/form.html", form=form, organization=None), (
        422 if form.errors else 200
    )


@bp.get("/<uuid:organization_id>")
@allow(*ALL_ROLES)
def show(organization_id: uuid.UUID):
    organization = load_organization(organization_id) or abort(404)
    return render_template("partners/show.html", organization=organization)


@bp.route("/<uuid:organization_id>/edit", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.STAFF)
def edit(organization_id: uuid.UUID):
    organization = load_organization(organization_id) or abort(404)
    form = _with_owner_choices(OrganizationForm(obj=organization))
    if request.method == "GET":
        form.owner.data = str(organization.owner.public_id) if organization.owner else ""
    if form.validate_on_submit():
        try:
            update_organization(organization, _input(form))
        except InvalidInput as error:
            _show_errors(form, error)
        else:
            db.session.commit()
            flash("Changes saved.", "success")
            return redirect(url_for(".show", organization_id=organization.public_id))
    return render_template("partners/form.html", form=form, organization=organization), (
        422 if form.errors else 200
    )


@bp.route("/<uuid:organization_id>/delete", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.STAFF)
def delete(organization_id: uuid.UUID):
    organization = get_or_404(Organization, organization_id)
    if request.method == "POST":
        name = organization.name
        try:
            delete_organization(organization)
        except StillReferenced as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".show", organization_id=organization_id))
        db.session.commit()
        flash(f"{name} was deleted.", "success")
        return redirect(url_for(".index"))
    return render_template("partners/delete.html", organization=organization)
