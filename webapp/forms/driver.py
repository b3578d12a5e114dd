from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from backend.rides.models import ExceptionKind
from webapp.forms import Form
from webapp.forms.places import PlacesMixin, lat_field, lon_field

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class DutyForm(Form):
    on_duty = forms.TypedChoiceField(
        choices=[("1", "on"), ("0", "off")], coerce=lambda value: value == "1"
    )


class PositionForm(Form):
    lon = forms.FloatField(min_value=-180, max_value=180)
    lat = forms.FloatField(min_value=-90, max_value=90)


class CompleteForm(Form):
    km = forms.DecimalField(
        label=_("Kilometres driven (optional)"),
        required=False,
        min_value=0.1,
        max_value=1000,
        decimal_places=1,
        help_text=_("Leave empty to use the estimate."),
    )
    explanation = forms.CharField(
        label=_("Why further? (only for more than the ride can take)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("A detour, a closed road: a coordinator approves the kilometres beyond it."),
    )


class ReasonForm(Form):
    # Optional here: a no-show needs no reason, and a withdrawal without one gets the
    # service's message, which says who will read it.
    reason = forms.CharField(label=_("Why?"), max_length=300, required=False)


class SlotForm(Form):
    weekday = forms.TypedChoiceField(label=_("Day"), choices=WEEKDAYS, coerce=int)
    start = forms.TimeField(label=_("From"), widget=TIME)
    end = forms.TimeField(label=_("Until"), widget=TIME)

    def clean(self) -> dict:
        values = super().clean()
        if values.get("start") and values.get("end") and values["start"] >= values["end"]:
            self.add_error("end", _("The end must be after the start."))
        return values

    def has_changed(self) -> bool:
        # The day list always sends a day, so an add-a-time block left without times
        # would count as filled in and ask for its times; without times it is empty.
        if not self.initial and not self["start"].data and not self["end"].data:
            return False
        return super().has_changed()


SlotFormSet = forms.formset_factory(SlotForm, extra=2, can_delete=True, max_num=21)


class ExceptionForm(Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(
        label=_("What"),
        choices=[(ExceptionKind.AWAY, _("Away")), (ExceptionKind.EXTRA, _("Extra time"))],
        widget=forms.RadioSelect,
        initial=ExceptionKind.AWAY,
    )
    start = forms.TimeField(
        label=_("From (optional when away all day)"), required=False, widget=TIME
    )
    end = forms.TimeField(label=_("Until"), required=False, widget=TIME)


class CarAndAreaForm(PlacesMixin, Form):
    """A driver's car and how far they drive, in words and kilometres, and where they
    drive from. Only the shape of what was typed is checked here; the limits are the
    service's (driver_profile_save)."""

    radius_km = forms.DecimalField(
        label=_("How far from home you pick people up (km)"),
        help_text=_("In a straight line from where you usually drive from."),
        max_digits=7,
        decimal_places=1,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    seats = forms.IntegerField(
        label=_("Seats for passengers"),
        help_text=_("Not counting your own seat."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    vehicle_description = forms.CharField(
        label=_("Your car (optional)"),
        help_text=_("Make and colour, for example “Grey Volvo”, so the passenger knows it."),
        max_length=100,
        required=False,
    )
    wheelchair_accessible = forms.BooleanField(label=_("Takes a wheelchair"), required=False)
    walker_space = forms.BooleanField(label=_("Room for a walker"), required=False)
    child_seat = forms.BooleanField(label=_("Has a child seat"), required=False)
    takes_guide_dog = forms.BooleanField(label=_("Takes a guide dog"), required=False)
    # Where the driver drives from: an address (the view looks it up) or coordinates; the
    # driver profile keeps only the point (its home base).
    home_address = forms.CharField(
        label=_("Where do you usually drive from?"),
        help_text=_("An address. Leave it empty to keep the place you drive from now."),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    home_lon = lon_field(_("Drive from: longitude"))
    home_lat = lat_field(_("Drive from: latitude"))

    PLACES = ("home",)

    CAR_TAKES = ("wheelchair_accessible", "walker_space", "child_seat", "takes_guide_dog")

    def __init__(self, *args, setting_up: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if setting_up:
            # Required by the service (a new profile needs its home base), which says so.
            self.fields["home_address"].help_text = _(
                "An address, usually your home. You are offered rides that start near it."
            )

    def clean(self) -> dict:
        values = super().clean()
        self.clean_places(values)
        return values

    @classmethod
    def initial_of(cls, driver) -> dict:
        """What the form shows for a driver profile: the radius in kilometres."""
        return {
            "radius_km": Decimal(driver.service_radius_m) / 1000,
            "seats": driver.seats,
            "vehicle_description": driver.vehicle_description,
            **{name: getattr(driver, name) for name in cls.CAR_TAKES},
        }

    def profile_values(self) -> dict:
        """The values as the driver profile stores them: the radius in metres."""
        values = self.cleaned_data
        return {
            "service_radius_m": round(values["radius_km"] * 1000),
            "seats": values["seats"],
            "vehicle_description": values["vehicle_description"].strip(),
            **{name: values[name] for name in self.CAR_TAKES},
        }
