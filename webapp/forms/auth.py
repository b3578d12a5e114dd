from django import forms
from django.utils.translation import gettext_lazy as _

from webapp.forms import Form


class PasswordSignInForm(Form):
    identifier = forms.CharField(
        label=_("Phone number or e-mail"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeRequestForm(Form):
    phone = forms.CharField(
        label=_("Mobile phone number"),
        max_length=32,
        help_text=_("We send a six-digit code by SMS."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )


class EmailSignInForm(Form):
    email = forms.CharField(
        label=_("Your e-mail address"),
        max_length=254,
        help_text=_("The one in your Samby account, if you have confirmed it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class CodeVerifyForm(Form):
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
    )


NEW_PASSWORD_HELP = _("At least 8 characters. Not only digits, and not your name.")


class PasswordChangeForm(Form):
    """A new password, and the present one unless the session began with a one-time code
    a moment ago (the view leaves the field out then). The service checks both."""

    current_password = forms.CharField(
        label=_("Your present password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        help_text=NEW_PASSWORD_HELP,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, needs_current: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not needs_current:
            del self.fields["current_password"]
