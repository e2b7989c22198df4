"""HTML forms of the follow-ups domain. Dates and times are typed on the wall clock of the
follow-up's zone (its facility's, or the workspace's); the views turn them into UTC."""

from datetime import time

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.followups.services import CADENCE_DAYS_MAX, NOTES_MAX, TITLE_MAX

EVERY_N_DAYS = "days"
CADENCE_CHOICES = [
    SelectChoice("", "Does not repeat"),
    SelectChoice("FREQ=WEEKLY", "Every week"),
    SelectChoice("FREQ=WEEKLY;INTERVAL=2", "Every two weeks"),
    SelectChoice("FREQ=MONTHLY", "Every month"),
    SelectChoice("FREQ=MONTHLY;INTERVAL=3", "Every three months"),
    SelectChoice(EVERY_N_DAYS, "Every so many days…"),
]
CADENCE_LABELS = {c.value: c.label for c in CADENCE_CHOICES if c.value not in ("", EVERY_N_DAYS)}


class FollowUpForm(FlaskForm):
    """What, who, when: the fields of a new follow-up and of an edit."""

    title = StringField(
        "What is to be done",
        validators=[DataRequired("Say what is to be done."), Length(max=TITLE_MAX)],
    )
    # The choices are the workspace's staff and admins: a partner, a viewer, another
    # workspace's member or a made-up id is "not in the list", as the service says too.
    assignee = SelectField(
        "Assigned to",
        choices=[],
        validate_choice=True,
        invalid_choice_message="Choose a staff member or admin from the list.",
    )
    due_date = DateField("Due date", validators=[DataRequired("Choose a due date.")])
    due_time = TimeField(
        "Due time", default=time(9, 0), validators=[DataRequired("Choose a due time.")]
    )
    notes = TextAreaField("Notes", validators=[Length(max=NOTES_MAX)])


class NewFollowUpForm(FollowUpForm):
    cadence = SelectField(
        "Repeat",
        choices=CADENCE_CHOICES,
        default="",
        invalid_choice_message="Choose how it repeats from the list.",
        description="When it is done, the next one is due that long after this due date.",
    )
    cadence_days = IntegerField(
        "Every how many days",
        validators=[Optional(), NumberRange(1, CADENCE_DAYS_MAX, "Use 1 to %(max)s days.")],
    )

    def validate(self, extra_validators=None) -> bool:
        # Not an inline validator: Optional() ends the field's chain before it would run.
        valid = super().validate(extra_validators)
        field = self.cadence_days
        if self.cadence.data == EVERY_N_DAYS and field.data is None and not field.errors:
            field.errors.append("Say every how many days it repeats.")
            valid = False
        return valid


class DoneForm(FlaskForm):
    note = TextAreaField("What came of it (optional)", validators=[Length(max=NOTES_MAX)])
    back = HiddenField()


SNOOZE_CHOICES = [
    SelectChoice("day", "1 day"),
    SelectChoice("week", "1 week"),
    SelectChoice("until", "Until a date and time"),
]


class SnoozeForm(FlaskForm):
    until = SelectField(
        "Snooze", choices=SNOOZE_CHOICES, invalid_choice_message="Choose how long from the list."
    )
    until_date = DateField("Until date", validators=[Optional()])
    until_time = TimeField("Until time", validators=[Optional()])
    back = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        # Not inline validators: Optional() ends a field's chain before they would run.
        valid = super().validate(extra_validators)
        if self.until.data == "until":
            for field, what in ((self.until_date, "date"), (self.until_time, "time")):
                if field.data is None and not field.errors:
                    field.errors.append(f"Choose the {what} to snooze until.")
                    valid = False
        return valid


class ActionForm(FlaskForm):
    """Reopen and cancel: a button, its CSRF token and where to go back to."""

    back = HiddenField()


class WhoseForm(FlaskForm):
    """The admins' choice of whose follow-ups to see."""

    class Meta:
        csrf = False  # a GET filter, changes nothing

    who = SelectField("Whose follow-ups", default="", choices=[])
