"""Forms of the members page."""

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from crm.roles import Role

ROLE_CHOICES = [SelectChoice(role.value, role.label) for role in Role]


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter an email."), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.STAFF.value)
    organization = SelectField(
        "Organization (partners only)",
        choices=[],
        validate_choice=False,
        description="A partner user sees only this organization's records.",
    )


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    organization = SelectField("Organization (partners only)", choices=[], validate_choice=False)


def organization_choices() -> list[SelectChoice]:
    from sqlalchemy import select

    from crm.extensions import db
    from crm.partners.models import Organization

    rows = db.session.execute(
        select(Organization.public_id, Organization.name).order_by(Organization.name_key)
    ).all()
    return [SelectChoice("", "—")] + [SelectChoice(str(r.public_id), r.name) for r in rows]
