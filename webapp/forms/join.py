from django import forms
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import Language
from webapp.forms import Form
from webapp.forms.auth import NEW_PASSWORD_HELP


class JoinForm(Form):
    """A new account. The phone number, e-mail and password are checked by
    `user_register`, which says what is wrong in the same words as the app."""

    full_name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone number"),
        max_length=32,
        required=False,
        help_text=_("We text a code to it, so you can show that the number is yours."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    email = forms.CharField(
        label=_("E-mail (if you want)"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        help_text=NEW_PASSWORD_HELP,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    preferred_language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
