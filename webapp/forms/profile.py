from django import forms
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import Language
from webapp.forms import Form
from webapp.forms.places import PlacesMixin, lat_field, lon_field

TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class LanguageForm(Form):
    language = forms.ChoiceField(choices=Language.choices)
    next = forms.CharField(required=False, max_length=500)


class ContactForm(Form):
    """How a person wants to be told things, and when not to be disturbed by SMS."""

    preferred_language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    contact_by_push = forms.BooleanField(
        label=_("Notifications on this phone (push)"), required=False
    )
    contact_by_sms = forms.BooleanField(label=_("SMS"), required=False)
    contact_by_email = forms.BooleanField(label=_("E-mail"), required=False)
    phone = forms.CharField(
        label=_("Mobile phone number"),
        max_length=32,
        required=False,
        help_text=_("A new number gets a code by SMS, to show that it is yours."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        help_text=_("A new address gets a link by e-mail, to show that it is yours."),
    )
    quiet_start = forms.TimeField(label=_("No SMS from"), widget=TIME)
    quiet_end = forms.TimeField(label=_("until"), widget=TIME)

    def clean(self) -> dict:
        values = super().clean()
        if values.get("contact_by_email") and not values.get("email"):
            self.add_error("email", _("Give an e-mail address to get e-mail."))
        return values


class HomeForm(PlacesMixin, Form):
    """Where I live: an address (looked up when saved) or, when it cannot be found, its
    coordinates. Saved by `user_home_change`; empty, or the remove button, removes it."""

    home_address = forms.CharField(
        label=_("Home address"),
        max_length=300,
        required=False,
        help_text=_(
            "Suggested as the pickup when you book a ride or a shop run. You see it, and "
            "so do the people who book for you and your association's coordinators. "
            "Drivers see a pickup address only on rides they drive."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    home_lon = lon_field(_("Home: longitude"))
    home_lat = lat_field(_("Home: latitude"))

    PLACES = ("home",)

    def clean(self) -> dict:
        values = super().clean()
        self.clean_places(values)
        # An empty address removes the home: coordinates alone would be dropped unsaid.
        if values.get("home_lon") is not None and not (values.get("home_address") or "").strip():
            self.add_error("home_address", _("Write the address as well as its coordinates."))
        return values


class EraseForm(Form):
    confirm = forms.BooleanField(
        label=_("I understand that my account and my data are removed for good."),
        error_messages={"required": _("Tick the box to confirm.")},
    )
