"""HTML forms of the partners domain. They shape what the browser sends; the services check it
(crm/partners/services.py), so the HTML form and a future API cannot drift."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from crm.partners.models import KIND_LABELS
from crm.partners.services import (
    ADDRESS_MAX,
    EMAIL_MAX,
    NAME_MAX,
    NOTE_MAX,
    PHONE_MAX,
    STAGE_ORDER,
    TEXT_MAX,
    WEBSITE_MAX,
    Sort,
)

KIND_CHOICES = [SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()]
STAGE_CHOICES = [SelectChoice(stage.value, stage.label) for stage in STAGE_ORDER]
SORT_CHOICES = [SelectChoice(sort.value, sort.label) for sort in Sort]


def at_most(limit: int) -> Length:
    """The service's own wording (crm/partners/services.py), so a message reads the same
    whichever layer catches the mistake first."""
    return Length(max=limit, message=f"Use at most {limit:,} characters.")


class ProfileForm(FlaskForm):
    """What an organization says of itself: partners edit these for their own organization."""

    mission = TextAreaField("Mission", validators=[at_most(TEXT_MAX)])
    values = TextAreaField("Values", validators=[at_most(TEXT_MAX)])
    clients_served = TextAreaField(
        "Clients served",
        description="Who the organization serves: women, families, people in recovery…",
        validators=[at_most(TEXT_MAX)],
    )
    website = URLField(
        "Website",
        description="An http:// or https:// address.",
        validators=[at_most(WEBSITE_MAX)],
    )
    email = EmailField("Email", validators=[at_most(EMAIL_MAX)])
    phone = TelField("Phone", validators=[at_most(PHONE_MAX)])
    phone_alt = TelField("Other phone", validators=[at_most(PHONE_MAX)])
    address = TextAreaField("Address", validators=[at_most(ADDRESS_MAX)])


class OrganizationForm(ProfileForm):
    """Staff and admins' form: the profile, plus the fields only the jail sets."""

    name = StringField(
        "Name", validators=[DataRequired("Enter the organization's name."), at_most(NAME_MAX)]
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
    interests = TextAreaField(
        "Research notes (staff only)",
        description="What you learned of the organization's interests and clients.",
        validators=[at_most(TEXT_MAX)],
    )
    # The choices are the workspace's staff and admins: another workspace's member, a partner
    # or a made-up id is "not in the list", the same answer the service gives.
    owner = SelectField(
        "Owner (staff only)",
        choices=[],
        validate_choice=True,
        invalid_choice_message="Choose an owner from the list.",
    )


class StageForm(FlaskForm):
    """A move in the pipeline: the "Move to …" buttons and the page's stage form."""

    stage = SelectField(
        "Move to", choices=STAGE_CHOICES, invalid_choice_message="Choose a stage from the list."
    )
    # the stage the page showed: a stale page (someone moved it meanwhile) changes nothing
    from_stage = HiddenField()
    note = TextAreaField("Note (optional)", validators=[at_most(NOTE_MAX)])
    return_to = HiddenField()


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter, changes nothing

    q = StringField("Name starts with", validators=[at_most(NAME_MAX)])
    kind = SelectField("Kind", default="", choices=[SelectChoice("", "All kinds")] + KIND_CHOICES)
    stage = SelectField(
        "Stage", default="", choices=[SelectChoice("", "All stages")] + STAGE_CHOICES
    )
    # staff only; the choices are set by the view: anyone, mine, nobody, each staff member
    owner = SelectField("Owner", default="", choices=[])
    sort = SelectField("Sort by", default=Sort.NAME.value, choices=SORT_CHOICES)
    archived = BooleanField("Include archived")
