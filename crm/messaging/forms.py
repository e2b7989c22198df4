"""HTML forms of the outbox page."""

from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from crm.messaging.models import MessageStatus

STATUS_LABELS = {
    MessageStatus.QUEUED: "Queued",
    MessageStatus.SENDING: "Sending",
    MessageStatus.SENT: "Sent",
    MessageStatus.FAILED: "Failed",
}


class StatusFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter, changes nothing

    status = SelectField(
        "Status",
        default="",
        choices=[SelectChoice("", "All statuses")]
        + [SelectChoice(status.value, label) for status, label in STATUS_LABELS.items()],
    )
