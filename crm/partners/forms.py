"""HTML forms of the partners domain."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from crm.partners.models import KIND_LABELS, Stage
from crm.partners.services import NAME_MAX, TEXT_MAX

KIND_CHOICES = [SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()]
STAGE_CHOICES = [SelectChoice(stage.value, stage.label) for stage in Stage]


class OrganizationForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Enter the organization's name."), Length(max=NAME_MAX)]
    )
    kind = SelectField(
        "Kind",
        choices=[SelectChoice("", "Choose a kind…")] + KIND_CHOICES,
        validators=[DataRequired("Choose a kind from the list.")],
        invalid_choice_message="Choose a kind from the list.",
    )
    stage = SelectField(
        "Stage", choices=STAGE_CHOICES, invalid_choice_message="Choose a stage from the list."
    )
    mission = TextAreaField("Mission", validators=[Length(max=TEXT_MAX)])
    interests = TextAreaField(
        "Research notes (staff only)",
        description="What you learned of the organization's interests and clients.",
        validators=[Length(max=TEXT_MAX)],
    )
    # The choices are the workspace's staff and admins: another workspace's member, a partner
    # or a made-up id is "not in the list", the same answer the service gives.
    owner = SelectField(
        "Owner (staff only)",
        choices=[],
        validate_choice=True,
        invalid_choice_message="Choose an owner from the list.",
    )


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter, changes nothing

    q = StringField("Name starts with", validators=[Length(max=NAME_MAX)])
    kind = SelectField("Kind", default="", choices=[SelectChoice("", "All kinds")] + KIND_CHOICES)
    stage = SelectField(
        "Stage", default="", choices=[SelectChoice("", "All stages")] + STAGE_CHOICES
    )
