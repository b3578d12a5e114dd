"""Carpool forms: find a seat, book it, offer a trip, save a ride alert."""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.carpool.models import MAX_SEATS, Luggage
from webapp.forms import Form
from webapp.forms.places import PlacesMixin, address_field, lat_field, lon_field
from webapp.forms.rides import LOCAL_DATETIME, CancelForm

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]
RRULE_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ONCE, WEEKLY = "once", "weekly"


def seats_field(label=None, initial: int = 1) -> forms.IntegerField:
    return forms.IntegerField(
        label=label or _("Seats"), min_value=1, max_value=MAX_SEATS, initial=initial
    )


class SearchForm(PlacesMixin, Form):
    """Where from, where to, and when the car may pass the pickup (a GET form: searching
    writes nothing)."""

    PLACES = ("pickup", "dropoff")

    pickup_address = address_field(_("From (address)"))
    pickup_lon = lon_field(_("From: longitude"))
    pickup_lat = lat_field(_("From: latitude"))
    dropoff_address = address_field(_("To (address)"))
    dropoff_lon = lon_field(_("To: longitude"))
    dropoff_lat = lat_field(_("To: latitude"))
    day = forms.DateField(label=_("Day"), widget=DATE, input_formats=["%Y-%m-%d"])
    earliest = forms.TimeField(label=_("Earliest pickup"), widget=TIME, input_formats=["%H:%M"])
    latest = forms.TimeField(label=_("Latest pickup"), widget=TIME, input_formats=["%H:%M"])
    seats = seats_field()

    def clean(self) -> dict:
        values = super().clean()
        self.clean_places(values)
        return values

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        """The pickup window in local time; a window past midnight ends the next day."""
        values = self.cleaned_data
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(values["day"], values["earliest"], tzinfo=zone)
        end = dt.datetime.combine(values["day"], values["latest"], tzinfo=zone)
        if end <= start:
            end += dt.timedelta(days=1)
        return start, end


def search_initial() -> dict:
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    return {"day": tomorrow, "earliest": dt.time(7, 0), "latest": dt.time(9, 0), "seats": 1}


class BookForm(PlacesMixin, Form):
    """One result's "Book" button: the departure and the places of the search, who
    travels, how many seats, a word to the driver."""

    PLACES = ("pickup", "dropoff")

    departure = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    pickup_address = forms.CharField(widget=forms.HiddenInput, max_length=300)
    pickup_lon = forms.FloatField(widget=forms.HiddenInput, min_value=-180, max_value=180)
    pickup_lat = forms.FloatField(widget=forms.HiddenInput, min_value=-90, max_value=90)
    dropoff_address = forms.CharField(widget=forms.HiddenInput, max_length=300)
    dropoff_lon = forms.FloatField(widget=forms.HiddenInput, min_value=-180, max_value=180)
    dropoff_lat = forms.FloatField(widget=forms.HiddenInput, min_value=-90, max_value=90)
    seats = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=MAX_SEATS)
    passenger = forms.TypedChoiceField(label=_("Who travels?"), coerce=int)
    message = forms.CharField(
        label=_("Message to the driver (optional)"), max_length=500, required=False
    )
    # The search the result came from (its query string), to go back to when the booking
    # is refused (webapp/views/carpool.py, `_search_url`).
    search = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, passengers: list[tuple[int, str]], me: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["passenger"].choices = passengers
        # Asked only when there is a choice, or when the one choice is someone else.
        if len(passengers) == 1 and passengers[0][0] == me:
            self.fields["passenger"].widget = forms.HiddenInput()
            self.fields["passenger"].initial = passengers[0][0]


class TripRulesForm(Form):
    """What passengers book on: seats, price and the rules on board. A driver sets them
    when offering a trip and may change them later."""

    seats = seats_field(_("Free seats"), initial=3)
    price_kr = forms.IntegerField(
        label=_("Price per seat in kronor (optional)"),
        min_value=0,
        max_value=10_000,
        required=False,
        help_text=_("Leave empty for a fair share of the cost of driving."),
    )
    instant_booking = forms.BooleanField(
        label=_("Confirm bookings at once, without asking me"), required=False
    )
    pets_allowed = forms.BooleanField(label=_("Pets are welcome"), required=False)
    smoking_allowed = forms.BooleanField(label=_("Smoking allowed"), required=False)
    luggage = forms.ChoiceField(label=_("Luggage"), choices=Luggage.choices, initial=Luggage.SMALL)
    note = forms.CharField(
        label=_("Note to passengers (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class TripChangeForm(TripRulesForm):
    """The same choices on a published trip: they apply to bookings made from now on."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["price_kr"].help_text = _(
            "Bookings already made keep their price. Empty keeps the price as it is."
        )


class DepartureMoveForm(Form):
    """A new time for one departure, in local (Swedish) time: a day and a time, so that
    the usual change (the same day, a little earlier or later) is one field."""

    day = forms.DateField(label=_("Day"), widget=DATE, input_formats=["%Y-%m-%d"])
    time = forms.TimeField(
        label=_("New departure time"), widget=TIME, input_formats=["%H:%M", "%H:%M:%S"]
    )

    def departure_at(self) -> dt.datetime:
        values = self.cleaned_data
        zone = timezone.get_current_timezone()
        return dt.datetime.combine(values["day"], values["time"], tzinfo=zone)


class TripForm(PlacesMixin, TripRulesForm):
    """A trip a driver offers: once, or every week on the chosen days."""

    PLACES = ("origin", "destination")

    association = forms.ModelChoiceField(
        label=_("Association"), queryset=None, required=False, empty_label=None
    )
    origin_address = address_field(_("From (address)"))
    origin_lon = lon_field(_("From: longitude"))
    origin_lat = lat_field(_("From: latitude"))
    destination_address = address_field(_("To (address)"))
    destination_lon = lon_field(_("To: longitude"))
    destination_lat = lat_field(_("To: latitude"))
    departure = forms.DateTimeField(
        label=_("Departure"), widget=LOCAL_DATETIME, input_formats=["%Y-%m-%dT%H:%M"]
    )
    repeat = forms.ChoiceField(
        label=_("How often?"),
        choices=[(ONCE, _("Once")), (WEEKLY, _("Every week on these days"))],
        widget=forms.RadioSelect,
        initial=ONCE,
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, associations, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["association"].queryset = associations

    def clean(self) -> dict:
        values = super().clean()
        self.clean_places(values)
        if values.get("repeat") == WEEKLY and not values.get("weekdays"):
            self.add_error("weekdays", _("Choose at least one weekday."))
        return values

    def rrule(self) -> str:
        values = self.cleaned_data
        if values["repeat"] != WEEKLY:
            return ""
        days = ",".join(RRULE_DAYS[day] for day in sorted(set(values["weekdays"])))
        return f"FREQ=WEEKLY;BYDAY={days}"


class AlertForm(PlacesMixin, Form):
    """A ride alert: tell me when someone offers a trip I could come along on."""

    PLACES = ("pickup", "dropoff")

    pickup_address = address_field(_("From (address)"))
    pickup_lon = lon_field(_("From: longitude"))
    pickup_lat = lat_field(_("From: latitude"))
    dropoff_address = address_field(_("To (address)"))
    dropoff_lon = lon_field(_("To: longitude"))
    dropoff_lat = lat_field(_("To: latitude"))
    earliest = forms.TimeField(label=_("Earliest pickup"), widget=TIME, input_formats=["%H:%M"])
    latest = forms.TimeField(label=_("Latest pickup"), widget=TIME, input_formats=["%H:%M"])
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    until = forms.DateField(
        label=_("Until (optional)"), widget=DATE, input_formats=["%Y-%m-%d"], required=False
    )
    seats = seats_field()

    def clean(self) -> dict:
        values = super().clean()
        self.clean_places(values)
        return values


__all__ = ["AlertForm", "BookForm", "CancelForm", "SearchForm", "TripForm"]


STARS = [
    (5, _("5 (very good)")),
    (4, _("4 (good)")),
    (3, _("3 (all right)")),
    (2, _("2 (not good)")),
    (1, _("1 (bad)")),
]


class RatingForm(Form):
    stars = forms.TypedChoiceField(
        label=_("How was the trip?"), choices=STARS, coerce=int, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("A few words (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReportForm(Form):
    text = forms.CharField(
        label=_("What happened?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The coordinators of the association read it. The other person does not."),
    )
