"""Lending one's own things: describe a thing (new or changed), answer a booking request,
take a thing out of service. The forms only read what was typed and turn kronor into
öre and hours into minutes; the rules are in backend.sharing.services."""

from decimal import Decimal

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from backend.sharing.models import ApprovalMode, Fuel, Resource, ResourceKind
from webapp.forms import Form
from webapp.forms.places import PlacesMixin, address_field, lat_field, lon_field

HOUR = 60
DAY = 24 * HOUR
# Lengths a person picks from rather than types (minutes, label).
SHORTEST = [
    (15, _("15 minutes")),
    (30, _("30 minutes")),
    (HOUR, _("1 hour")),
    (2 * HOUR, _("2 hours")),
    (4 * HOUR, _("4 hours")),
    (DAY, _("1 day")),
]
LONGEST = [
    (HOUR, _("1 hour")),
    (4 * HOUR, _("4 hours")),
    (DAY, _("1 day")),
    (2 * DAY, _("2 days")),
    (3 * DAY, _("3 days")),
    (7 * DAY, _("1 week")),
    (14 * DAY, _("2 weeks")),
    (30 * DAY, _("30 days")),
]
BUFFER = [
    (0, _("None")),
    (15, _("15 minutes")),
    (30, _("30 minutes")),
    (HOUR, _("1 hour")),
    (2 * HOUR, _("2 hours")),
    (DAY, _("1 day")),
]
APPROVAL = [
    (ApprovalMode.OWNER, _("I approve each booking")),
    (ApprovalMode.AUTOMATIC, _("Booked at once, by anyone who finds it")),
    (ApprovalMode.MEMBERS, _("Booked at once, by members of the association only")),
]
# Form field -> the service's field (kronor in the form, öre in the service).
PRICES = {
    "price_per_hour_kr": "price_per_hour_ore",
    "price_per_day_kr": "price_per_day_ore",
    "deposit_kr": "deposit_ore",
    "price_per_km_kr": "price_per_km_ore",
}
CAR_FIELDS = ("seats", "fuel", "odometer_km", "price_per_km_kr")
# The fields the form and the resource share as they are (prices are kronor in the form).
PLAIN_FIELDS = (
    "title",
    "kind",
    "category",
    "description",
    "rules",
    "approval_mode",
    "min_minutes",
    "max_minutes",
    "buffer_minutes",
    "pickup_instructions",
    "key_location",
)
# The service's field -> the form's field, for the errors the service names.
SERVICE_FIELDS = {
    **{ore: kr for kr, ore in PRICES.items()},
    "location": "place_address",
    "active": "active",
}


def _kr(label) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=Decimal(0),
        max_digits=12,
        decimal_places=2,
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


def _with_current(choices: list, value: int | None, text) -> list:
    """A length set elsewhere (the app may set any) stays a choice, so that saving the
    form does not change it unasked."""
    if value is None or any(minutes == value for minutes, _label in choices):
        return choices
    return sorted([*choices, (value, text(value))])


class ThingForm(PlacesMixin, Form):
    """A thing I lend: new (with the association it is listed with) or changed."""

    PLACES = ("place",)

    association = forms.ModelChoiceField(
        label=_("Association"),
        queryset=None,
        empty_label=None,
        help_text=_("Its coordinators can help if something goes wrong."),
    )
    title = forms.CharField(label=_("What is it called?"), max_length=120)
    kind = forms.ChoiceField(
        label=_("What kind of thing?"),
        choices=[(value, capfirst(label)) for value, label in ResourceKind.choices],
        initial=ResourceKind.TOOL,
    )
    category = forms.CharField(
        label=_("Category"),
        max_length=50,
        help_text=_("One or two words people search for, e.g. trailer, drill, sauna."),
    )
    description = forms.CharField(
        label=_("Description (optional)"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    rules = forms.CharField(
        label=_("Rules (optional)"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: return it clean, fill the tank."),
    )
    approval_mode = forms.ChoiceField(
        label=_("How is it booked?"),
        choices=APPROVAL,
        widget=forms.RadioSelect,
        initial=ApprovalMode.OWNER,
    )
    price_per_hour_kr = _kr(_("Price per hour, kr (optional)"))
    price_per_day_kr = _kr(_("Price per day, kr (optional)"))
    deposit_kr = _kr(_("Deposit, kr (optional)"))
    min_minutes = forms.TypedChoiceField(
        label=_("Shortest booking"), choices=SHORTEST, coerce=int, initial=HOUR
    )
    max_minutes = forms.TypedChoiceField(
        label=_("Longest booking"), choices=LONGEST, coerce=int, initial=7 * DAY
    )
    buffer_minutes = forms.TypedChoiceField(
        label=_("Time kept free after each booking"), choices=BUFFER, coerce=int, initial=0
    )
    place_address = address_field(_("Where is it fetched? (address)"), required=False)
    place_lon = lon_field(_("Where: longitude"))
    place_lat = lat_field(_("Where: latitude"))
    pickup_instructions = forms.CharField(
        label=_("How to find it (optional)"),
        max_length=300,
        required=False,
        help_text=_("Only people with a confirmed booking see this."),
    )
    key_location = forms.CharField(
        label=_("Where the key is (optional)"),
        max_length=200,
        required=False,
        help_text=_("Only people with a confirmed booking see this."),
    )
    # Bounded only against overflow: the service says what a car may have.
    seats = forms.IntegerField(label=_("Seats"), required=False, min_value=-1000, max_value=1000)
    fuel = forms.ChoiceField(
        label=_("Runs on"),
        choices=[("", _("Choose")), *((v, capfirst(label)) for v, label in Fuel.choices)],
        required=False,
    )
    odometer_km = forms.IntegerField(
        label=_("Odometer (km)"), required=False, min_value=0, max_value=5_000_000
    )
    price_per_km_kr = _kr(_("Price per km, kr (optional)"))
    active = forms.BooleanField(
        label=_("Listed: others can find and book it"), required=False, initial=True
    )
    photo = forms.ImageField(label=_("Photo (optional)"), required=False)

    def __init__(self, *args, associations=None, resource: Resource | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.resource = resource
        if resource is None:
            self.fields["association"].queryset = associations
            # A new thing is listed; whether to hide it is a choice for later.
            del self.fields["active"]
        else:
            # Where it is listed does not change (its bookings and coordinators go with it).
            del self.fields["association"]
        for name, choices in (
            ("min_minutes", SHORTEST),
            ("max_minutes", LONGEST),
            ("buffer_minutes", BUFFER),
        ):
            value = getattr(resource, name, None)
            self.fields[name].choices = _with_current(
                choices, value, lambda minutes: _("%(n)s minutes") % {"n": minutes}
            )

    def clean(self) -> dict:
        values = super().clean()
        self.clean_places(values)
        if (
            self.resource is None
            and not (values.get("place_address") or "").strip()
            and self.point("place") is None
            and not self.has_error("place_lat")
        ):
            self.add_error(
                "place_address", _("Give the address where it is fetched, or pick it on the map.")
            )
        return values

    def place_point(self):
        """The point typed or picked, else the address looked up; None when both are
        empty on a change (the place stays as it was)."""
        if (
            self.resource is not None
            and self.point("place") is None
            and not (self.cleaned_data.get("place_address") or "").strip()
        ):
            return None
        point, _address = self.place("place")
        return point

    def service_values(self) -> dict:
        """The fields as `resource_create` / `resource_update` take them (without the
        place, which may need the geocoder)."""
        values = self.cleaned_data
        out = {
            name: values[name].strip() if isinstance(values[name], str) else values[name]
            for name in PLAIN_FIELDS
        }
        car = values["kind"] == ResourceKind.CAR
        for form_name, ore_name in PRICES.items():
            if form_name == "price_per_km_kr" and not car:
                # Only cars are paid per km; a value left in the hidden car part is ignored.
                out[ore_name] = 0
                continue
            kronor = values.get(form_name)
            out[ore_name] = int((kronor or 0) * 100)
        if car:
            out.update(
                seats=values["seats"], fuel=values["fuel"], odometer_km=values["odometer_km"]
            )
        else:
            out.update(seats=None, fuel="", odometer_km=None)
        if "active" in self.fields:
            out["active"] = values["active"]
        return out


def thing_initial(resource: Resource) -> dict:
    """A thing as the change form shows it: kronor, and the point it stands at."""
    initial = {
        name: getattr(resource, name)
        for name in (*PLAIN_FIELDS, "seats", "fuel", "odometer_km", "active")
    }
    for form_name, ore_name in PRICES.items():
        ore = getattr(resource, ore_name)
        initial[form_name] = Decimal(ore) / 100 if ore else None
    initial["place_lon"] = round(resource.location.x, 6)
    initial["place_lat"] = round(resource.location.y, 6)
    return initial


def _id_field() -> forms.IntegerField:
    return forms.IntegerField(min_value=1, max_value=2**31 - 1)


class AnswerForm(Form):
    """Which request of a thing is approved (the button sends it)."""

    booking = _id_field()


class DeclineForm(AnswerForm):
    reason = forms.CharField(
        label=_("Why? (optional, the borrower sees it)"), max_length=300, required=False
    )


class OutOfServiceForm(Form):
    text = forms.CharField(label=_("What is wrong? (borrowers see it)"), max_length=1000)


class PhotoChoiceForm(Form):
    photo = _id_field()
