"""HTML form of the audit log's filters."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

ACTION_LABELS = {
    "create": "Created",
    "update": "Changed",
    "delete": "Deleted",
    "read": "Read",
    "export": "Exported",
}
# The "who" filter's choice for events of no user: tasks, commands, anonymous visitors.
NO_USER = "system"


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter, changes nothing

    action = SelectField(
        "Action",
        default="",
        choices=[SelectChoice("", "All actions")]
        + [SelectChoice(value, label) for value, label in ACTION_LABELS.items()],
    )
    record_type = SelectField("Record type", default="", choices=[])
    actor = SelectField("Who", default="", choices=[])
    since = DateField("From", validators=[Optional()])
    until = DateField("To (inclusive)", validators=[Optional()])

    def validate_since(self, field) -> None:
        _check_year(field.data)

    def validate_until(self, field) -> None:
        _check_year(field.data)
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("Choose a date on or after the start date.")


def _check_year(day) -> None:
    # far dates would overflow when turned into UTC times (and mean nothing here anyway)
    if day and not 1900 <= day.year <= 9000:
        raise ValidationError("Choose a date between the years 1900 and 9000.")
