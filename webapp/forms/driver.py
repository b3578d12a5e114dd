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
