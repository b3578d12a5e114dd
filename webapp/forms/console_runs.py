"""Forms of the console's shop runs: setting up a recurring run, cancelling one date,
moving one date. They check what was typed; the rules are in backend.shuttle.services."""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from webapp.forms import Form
from webapp.forms.places import PlacesMixin, address_field, lat_field, lon_field

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%H.%M"]

# RFC 5545 day codes, Monday first (Python's weekday() order).
WEEKDAYS = [
    ("MO", _("Monday")),
    ("TU", _("Tuesday")),
    ("WE", _("Wednesday")),
    ("TH", _("Thursday")),
    ("FR", _("Friday")),
    ("SA", _("Saturday")),
    ("SU", _("Sunday")),
]
WEEKLY, EVERY_OTHER_WEEK, MONTHLY = "weekly", "every_other_week", "monthly"
REPEATS = [
    (WEEKLY, _("Every week")),
    (EVERY_OTHER_WEEK, _("Every other week")),
    (MONTHLY, _("Once a month, on the first of these weekdays")),
]


def deadline_day_choices() -> list[tuple[int, str]]:
    """0 to 14 days before the run, in the active language (made per form)."""
    return [(0, gettext("The same day"))] + [
        (days, ngettext("%(days)s day before", "%(days)s days before", days) % {"days": days})
        for days in range(1, 15)
    ]


def repeat_rule(weekdays: list[str], repeat: str) -> str:
    """The RRULE of the plain choices: `FREQ=WEEKLY;BYDAY=TH`, every other week with
    `INTERVAL=2`, monthly on the first such weekday (`BYDAY=1TH`)."""
    days = [code for code, _label in WEEKDAYS if code in weekdays]
    if repeat == MONTHLY:
        return "FREQ=MONTHLY;BYDAY=" + ",".join(f"1{code}" for code in days)
    interval = ";INTERVAL=2" if repeat == EVERY_OTHER_WEEK else ""
    return f"FREQ=WEEKLY{interval};BYDAY=" + ",".join(days)


def _time(label, **kwargs) -> forms.TimeField:
    return forms.TimeField(label=label, widget=TIME_INPUT, input_formats=TIME_FORMATS, **kwargs)


class RunScheduleForm(PlacesMixin, Form):
    """A new recurring shop run of the console's association."""

    PLACES = ("destination",)

    name = forms.CharField(
        label=_("Name of the run"),
        max_length=100,
        help_text=_("Members see it, for example: Thursday shopping."),
    )
    destination_name = forms.CharField(
        label=_("Which shop?"), max_length=200, help_text=_("For example: ICA Nära Vansbro.")
    )
    destination_address = address_field(_("The shop's address"), required=False)
    destination_lon = lon_field(_("Shop: longitude"))
    destination_lat = lat_field(_("Shop: latitude"))
    weekdays = forms.MultipleChoiceField(
        label=_("Which day of the week?"), choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple
    )
    repeat = forms.ChoiceField(
        label=_("How often?"), choices=REPEATS, widget=forms.RadioSelect, initial=WEEKLY
    )
    starts_on = forms.DateField(label=_("First day"), widget=DATE_INPUT)
    ends_on = forms.DateField(
        label=_("Last day (optional)"),
        required=False,
        widget=DATE_INPUT,
        help_text=_("Leave it empty to keep the run going until you stop it."),
    )
    arrive_at = _time(_("Arrives at the shop at"))
    leave_at = _time(_("Leaves the shop at"))
    villages = forms.TypedMultipleChoiceField(
        label=_("Villages it picks up in"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: all the association's villages."),
    )
    seats_per_vehicle = forms.TypedChoiceField(
        label=_("Seats per car"), choices=[(n, n) for n in range(1, 9)], coerce=int, initial=4
    )
    max_vehicles = forms.TypedChoiceField(
        label=_("Cars at most"), choices=[(n, n) for n in range(1, 5)], coerce=int, initial=2
    )
    deadline_days = forms.TypedChoiceField(label=_("Sign-up closes"), coerce=int, initial=1)
    deadline_time = _time(_("Sign-up closes at"), initial=dt.time(18, 0))

    def __init__(self, *args, villages: list[tuple[int, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["villages"].choices = villages
        self.fields["deadline_days"].choices = deadline_day_choices()
        if not self.is_bound:
            self.initial.setdefault("starts_on", timezone.localdate())

    def clean(self) -> dict:
        values = super().clean()
        self.clean_places(values)
        if (
            not values.get("destination_address")
            and self.point("destination") is None
            and "destination_lat" not in self.errors
        ):
            self.add_error(
                "destination_address", _("Give the shop's address, or pick the shop on the map.")
            )
        return values

    def service_values(self) -> dict:
        """The keyword arguments of `schedule_create` that the form gives as they are."""
        values = self.cleaned_data
        return {
            "name": values["name"],
            "rrule": repeat_rule(values["weekdays"], values["repeat"]),
            "starts_on": values["starts_on"],
            "ends_on": values["ends_on"],
            "arrive_at": values["arrive_at"],
            "leave_at": values["leave_at"],
            "destination_name": values["destination_name"],
            "village_ids": values["villages"],
            "seats_per_vehicle": values["seats_per_vehicle"],
            "max_vehicles": values["max_vehicles"],
            "deadline_days": values["deadline_days"],
            "deadline_time": values["deadline_time"],
        }


# The service's field names on the form's fields.
SCHEDULE_FIELDS = {
    "destination": "destination_address",
    "rrule": "weekdays",
    "villages": "villages",
}


class RunCancelForm(Form):
    reason = forms.CharField(
        label=_("Why? (everyone signed up is told)"),
        max_length=300,
        error_messages={
            "required": _("Say why the run is cancelled: the people signed up are told.")
        },
    )


class RunMoveForm(Form):
    day = forms.DateField(label=_("New day"), widget=DATE_INPUT)
    arrive_at = _time(_("Arrives at the shop at"))
    leave_at = _time(_("Leaves the shop at"))

    def moments(self) -> tuple[dt.datetime, dt.datetime]:
        """The new times as aware moments in local time."""
        values = self.cleaned_data
        zone = timezone.get_current_timezone()
        return (
            dt.datetime.combine(values["day"], values["arrive_at"], tzinfo=zone),
            dt.datetime.combine(values["day"], values["leave_at"], tzinfo=zone),
        )
