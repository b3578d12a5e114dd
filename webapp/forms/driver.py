from django import forms
from django.utils.translation import gettext_lazy as _

from backend.rides.models import ExceptionKind
from webapp.forms import Form

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


class ReasonForm(Form):
    reason = forms.CharField(label=_("Why?"), max_length=300)


class SlotForm(Form):
    weekday = forms.TypedChoiceField(label=_("Day"), choices=WEEKDAYS, coerce=int)
    start = forms.TimeField(label=_("From"), widget=TIME)
    end = forms.TimeField(label=_("Until"), widget=TIME)

    def clean(self) -> dict:
        values = super().clean()
        if values.get("start") and values.get("end") and values["start"] >= values["end"]:
            self.add_error("end", _("The end must be after the start."))
        return values


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
