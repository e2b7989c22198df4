"""HTML forms of contacts and the outreach log. The services check everything again: these
only turn what the browser sends into values, with messages in the users' words."""

from __future__ import annotations

from datetime import time

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from crm.partners.models import ActivityKind
from crm.partners.outreach import (
    EMAIL_MAX,
    NAME_MAX,
    NEXT_STEP_MAX,
    PHONE_MAX,
    TEXT_MAX,
    TITLE_MAX_CONTACT,
)


def _at_most(limit: int) -> Length:
    return Length(max=limit, message=f"Use at most {limit:,} characters.")


KIND_CHOICES = [SelectChoice(kind.value, kind.label) for kind in ActivityKind]
DEFAULT_NEXT_STEP_TIME = time(9, 0)


class _BlankIsEmpty:
    """A date or time box left empty is no value (for the required/optional validators to
    judge), not a badly typed one."""

    def process_formdata(self, valuelist):
        if not valuelist or not "".join(valuelist).strip():
            self.data = None
            return
        super().process_formdata(valuelist)


class LocalDateTimeField(_BlankIsEmpty, DateTimeLocalField):
    pass


class LocalDateField(_BlankIsEmpty, DateField):
    pass


class LocalTimeField(_BlankIsEmpty, TimeField):
    pass


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (the template lays them out)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ContactForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Enter the contact's name."), _at_most(NAME_MAX)]
    )
    title = StringField(
        "Title or role",
        description="Director, facilitator, volunteer...",
        validators=[_at_most(TITLE_MAX_CONTACT)],
    )
    email = EmailField("Email", validators=[_at_most(EMAIL_MAX)])
    phone = TelField("Phone", validators=[_at_most(PHONE_MAX)])
    phone_alt = TelField("Other phone", validators=[_at_most(PHONE_MAX)])
    # Removed from the form for partners (crm/partners/outreach_views.py): they never see it.
    notes = TextAreaField(
        "Staff notes (staff only)",
        description="Partners and viewers never see these notes.",
        validators=[_at_most(TEXT_MAX)],
    )


class ActivityForm(FlaskForm):
    kind = SelectField(
        "Kind",
        choices=KIND_CHOICES,
        invalid_choice_message="Choose a kind from the list.",
    )
    occurred_at = LocalDateTimeField(
        "When",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired("Enter the date and time it took place.")],
        invalid_value_message="Enter a date and time like 2025-03-14 09:30.",
    )
    # Choices are set by the view: the workspace's live facilities, this organization's
    # contacts and the workspace's staff. Anything else is "not in the list".
    facility = SelectField(
        "Facility",
        description="Where a tour or cross-training took place.",
        choices=[],
        invalid_choice_message="Choose a facility from the list.",
    )
    contacts = CheckboxesField(
        "People of the organization",
        choices=[],
        invalid_choice_message="Choose people of this organization from the list.",
    )
    staff = CheckboxesField(
        "Staff",
        choices=[],
        invalid_choice_message="Choose staff members of this workspace from the list.",
    )
    summary = TextAreaField(
        "Summary",
        validators=[DataRequired("Say briefly what happened."), _at_most(TEXT_MAX)],
        render_kw={"rows": 3},
    )
    outcome = TextAreaField("Outcome", validators=[_at_most(TEXT_MAX)], render_kw={"rows": 2})
    next_step = StringField("Next step", validators=[_at_most(NEXT_STEP_MAX)])
    next_step_due = LocalDateField(
        "Next step on",
        description="A date makes the next step a follow-up on someone's list.",
        validators=[Optional()],
        invalid_value_message="Enter a date like 2025-03-14.",
    )
    next_step_time = LocalTimeField(
        "at",
        default=DEFAULT_NEXT_STEP_TIME,
        validators=[Optional()],
        invalid_value_message="Enter a time like 09:30.",
    )
    next_step_assignee = SelectField(
        "Follow-up for",
        choices=[],
        invalid_choice_message="Choose a staff member of this workspace.",
    )
    advance_stage = BooleanField(
        "Move the organization along the pipeline",
        description="A tour moves it to Toured, a cross-training to Cross-trained, "
        "if it is earlier in the pipeline.",
    )
