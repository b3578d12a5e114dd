from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from backend.community.models import Association
from backend.rides.models import Need, RideRequest, TimeKind
from webapp.forms import Form
from webapp.forms.places import PlacesMixin

# The id of the page's <datalist> of the rider's known places (includes/known_places.html).
KNOWN_PLACES = "known-places"

WINDOW = "window"
TIME_CHOICES = [
    (TimeKind.ASAP, _("As soon as possible")),
    (TimeKind.PICKUP_AT, _("Pick me up at a set time")),
    (TimeKind.ARRIVE_BY, _("I need to arrive by")),
    (WINDOW, _("Any time within a window")),
]
LOCAL_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class RideRequestForm(PlacesMixin, Form):
    """A ride request as the web page asks for it. Places are an address (one of the
    rider's known places, else looked up by the geocoder) or a point (picked on the map,
    or typed as coordinates). The address fields suggest the known places (`KNOWN_PLACES`,
    a datalist the page renders)."""

    PLACES = ("pickup", "destination")

    rider = forms.TypedChoiceField(label=_("Who travels?"), coerce=int)
    association = forms.ModelChoiceField(
        label=_("Association"),
        queryset=Association.objects.none(),
        required=False,
        empty_label=_("The one that approved the traveller"),
    )
    pickup_address = forms.CharField(label=_("From (address)"), max_length=300)
    pickup_lon = forms.FloatField(
        label=_("From: longitude"), required=False, min_value=-180, max_value=180
    )
    pickup_lat = forms.FloatField(
        label=_("From: latitude"), required=False, min_value=-90, max_value=90
    )
    destination_address = forms.CharField(label=_("To (address)"), max_length=300)
    destination_lon = forms.FloatField(
        label=_("To: longitude"), required=False, min_value=-180, max_value=180
    )
    destination_lat = forms.FloatField(
        label=_("To: latitude"), required=False, min_value=-90, max_value=90
    )
    time_kind = forms.ChoiceField(
        label=_("When?"), choices=TIME_CHOICES, widget=forms.RadioSelect, initial=TimeKind.PICKUP_AT
    )
    at = forms.DateTimeField(
        label=_("Time"), required=False, widget=LOCAL_DATETIME, input_formats=["%Y-%m-%dT%H:%M"]
    )
    window_start = forms.DateTimeField(
        label=_("Earliest pickup"),
        required=False,
        widget=LOCAL_DATETIME,
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    window_end = forms.DateTimeField(
        label=_("Latest pickup"),
        required=False,
        widget=LOCAL_DATETIME,
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    return_at = forms.DateTimeField(
        label=_("Return trip, pick me up again at (optional)"),
        required=False,
        widget=LOCAL_DATETIME,
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    passengers = forms.IntegerField(label=_("Passengers"), min_value=1, max_value=8, initial=1)
    needs = forms.MultipleChoiceField(
        label=_("Needs"), choices=Need.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(
        label=_("Note to the driver (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, riders: list[tuple[int, str]], associations, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for place in self.PLACES:
            self.fields[f"{place}_address"].widget.attrs["list"] = KNOWN_PLACES
        self.fields["rider"].choices = riders
        self.fields["association"].queryset = associations
        if len(riders) == 1:
            self.fields["rider"].widget = forms.HiddenInput()
            self.fields["rider"].initial = riders[0][0]

    def clean(self) -> dict:
        values = super().clean()
        self.clean_places(values)
        kind = values.get("time_kind")
        if kind in (TimeKind.PICKUP_AT, TimeKind.ARRIVE_BY) and values.get("at") is None:
            self.add_error("at", _("Say when you want to travel."))
        if kind == WINDOW:
            for name in ("window_start", "window_end"):
                if values.get(name) is None:
                    self.add_error(name, _("Give both the start and the end of the window."))
        return values


def map_settings() -> dict:
    return {
        "tiles": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "center": list(settings.MAP_CENTER),
    }


class CancelForm(Form):
    reason = forms.CharField(
        label=_("Why? (optional)"), max_length=300, required=False, widget=forms.TextInput()
    )
    with_return = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, return_trip: RideRequest | None = None, **kwargs) -> None:
        """`return_trip`: the ride's return trip when it can be cancelled with it (asked
        with a box, ticked at first); without one there is nothing to ask."""
        super().__init__(*args, **kwargs)
        if return_trip is None:
            del self.fields["with_return"]
            return
        when = timezone.localtime(return_trip.planned_pickup or return_trip.earliest_pickup)
        self.fields["with_return"].label = _("Also cancel the return trip, %(when)s") % {
            "when": date_format(when, "l j F H:i")
        }
