"""HTML forms of the facilities domain: fields, labels and help only. Every check is the
service's (crm/facilities/services.py), so a form and any other caller hear the same messages,
all of them at once, next to their fields."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from crm.facilities.models import LocationKind, RuleTopic, Sex

NUMERIC = {"inputmode": "numeric", "autocomplete": "off"}


@cache
def timezone_names() -> tuple[str, ...]:
    """The IANA names offered in the time zone field's list (the service accepts only these)."""
    return tuple(sorted(available_timezones()))


def _capacity_field() -> StringField:
    # Text, not IntegerField: the service's own message for "12 people" or "-3", and the
    # typing shown again as it was.
    return StringField(
        "Capacity", description="Optional: how many people it holds.", render_kw=NUMERIC
    )


def _choices(enum) -> list[SelectChoice]:
    return [SelectChoice("", "Choose…")] + [SelectChoice(m.value, m.label) for m in enum]


class FacilityForm(FlaskForm):
    name = StringField("Name")
    address = TextAreaField("Address", render_kw={"rows": 3})
    timezone = StringField(
        "Time zone",
        description="The facility's clock: its sessions, call-out lists and follow-ups use it.",
        render_kw={"list": "timezone-names", "autocomplete": "off", "spellcheck": "false"},
    )
    capacity = _capacity_field()


class UnitForm(FlaskForm):
    name = StringField("Name")
    sex = SelectField(
        "Population",
        choices=_choices(Sex),
        validate_choice=False,
        description="Units of different sexes never share a room at the same time.",
    )
    capacity = _capacity_field()
    # The choices are the workspace's staff and admins (set by the view); anything else sent
    # is refused by the service.
    officers = SelectMultipleField(
        "Assigned officers",
        choices=[],
        validate_choice=False,
        description="They receive the unit's call-out lists.",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class LocationForm(FlaskForm):
    name = StringField("Name")
    kind = SelectField("Kind", choices=_choices(LocationKind), validate_choice=False)
    capacity = _capacity_field()


class RuleForm(FlaskForm):
    topic = SelectField("Topic", choices=_choices(RuleTopic), validate_choice=False)
    text = TextAreaField("What visitors must know", render_kw={"rows": 4})
