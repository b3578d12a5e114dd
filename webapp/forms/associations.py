"""Finding an association and asking to join it."""

from django import forms
from django.utils.translation import gettext_lazy as _

from webapp.forms import Form


class AssociationSearchForm(Form):
    q = forms.CharField(
        label=_("Search by name or village"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class JoinForm(Form):
    driver = forms.BooleanField(
        label=_("I would also like to drive as a volunteer"), required=False
    )
