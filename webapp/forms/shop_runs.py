"""Signing up for a shop run: who comes, where to pick them up (home unless another
place is given), what help they need, and whether every week."""

from django import forms
from django.utils.translation import gettext_lazy as _

from backend.rides.models import Need
from webapp.forms import Form
from webapp.forms.places import PlacesMixin, address_field, lat_field, lon_field


class SignupForm(PlacesMixin, Form):
    PLACES = ("pickup",)

    passenger = forms.TypedChoiceField(label=_("Who comes along?"), coerce=int)
    pickup_address = address_field(_("Pick up at another address (optional)"), required=False)
    pickup_lon = lon_field(_("Pickup: longitude"))
    pickup_lat = lat_field(_("Pickup: latitude"))
    needs = forms.MultipleChoiceField(
        label=_("Needs"), choices=Need.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(
        label=_("Note to the driver (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    every_week = forms.BooleanField(
        label=_("Every week until I stop it"),
        required=False,
        help_text=_("You are signed up for the later runs too, as long as there is a seat."),
    )
    waitlist = forms.BooleanField(
        label=_("If the run is full, put me on the waitlist"), required=False, initial=True
    )

    def __init__(self, *args, passengers: list[tuple[int, str]], me: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["passenger"].choices = passengers
        # Asked only when there is a choice, or when the one choice is someone else.
        if len(passengers) == 1 and passengers[0][0] == me:
            self.fields["passenger"].widget = forms.HiddenInput()
            self.fields["passenger"].initial = passengers[0][0]

    def clean(self) -> dict:
        values = super().clean()
        self.clean_places(values)
        if self.point("pickup") is not None and not values.get("pickup_address"):
            self.add_error("pickup_address", _("Give the address too, for the driver."))
        return values
