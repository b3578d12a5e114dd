"""Shared cars, tools and rooms: browse near me, book, check out and in, report a
problem. The forms only read what was typed; the rules are in backend.sharing.services."""

import datetime as dt

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from backend.sharing.models import ProblemKind, Resource, ResourceKind
from webapp.forms import Form
from webapp.forms.rides import LOCAL_DATETIME, CancelForm

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M"]
RADII_KM = [(5, _("5 km")), (10, _("10 km")), (25, _("25 km")), (50, _("50 km"))]


def _moment(label) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, widget=LOCAL_DATETIME, input_formats=LOCAL_FORMATS, required=False
    )


class BrowseForm(Form):
    """What to look for near home (a GET form: browsing writes nothing). With a period,
    only things free for all of it."""

    kind = forms.ChoiceField(
        label=_("What"),
        choices=[("", _("Anything")), *((v, capfirst(label)) for v, label in ResourceKind.choices)],
        required=False,
    )
    q = forms.CharField(label=_("Search words (optional)"), max_length=100, required=False)
    category = forms.CharField(label=_("Category (optional)"), max_length=50, required=False)
    starts_at = _moment(_("Free from (optional)"))
    ends_at = _moment(_("Free until (optional)"))
    radius_km = forms.TypedChoiceField(
        label=_("Within"), choices=RADII_KM, coerce=int, initial=25, required=False
    )

    def clean(self) -> dict:
        values = super().clean()
        starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
        if bool(starts_at) != bool(ends_at):
            missing = "ends_at" if starts_at else "starts_at"
            self.add_error(missing, _("Give both the start and the end, or neither."))
        elif starts_at and ends_at <= starts_at:
            self.add_error("ends_at", _("The end must be after the start."))
        return values

    def radius_m(self) -> int:
        return (self.cleaned_data.get("radius_km") or 25) * 1000


class BookForm(Form):
    """Book a resource for a period, for myself or someone I book for."""

    starts_at = forms.DateTimeField(
        label=_("From"), widget=LOCAL_DATETIME, input_formats=LOCAL_FORMATS
    )
    ends_at = forms.DateTimeField(
        label=_("Until"), widget=LOCAL_DATETIME, input_formats=LOCAL_FORMATS
    )
    booker = forms.TypedChoiceField(label=_("Who is it for?"), coerce=int)
    note = forms.CharField(label=_("Note to the owner (optional)"), max_length=500, required=False)

    def __init__(self, *args, bookers: list[tuple[int, str]], me: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["booker"].choices = bookers
        self.fields["booker"].initial = me
        # Asked only when there is someone else to book for.
        if len(bookers) <= 1:
            self.fields["booker"].widget = forms.HiddenInput()


def book_initial(now: dt.datetime, resource: Resource | None = None) -> dict:
    """Tomorrow from 10, a common first guess: two hours, or as long as the thing must
    (or at most may) be booked, so that the form as it comes books."""
    start = (now + dt.timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    minutes = 120
    if resource is not None:
        minutes = min(max(minutes, resource.min_minutes), resource.max_minutes)
    return {"starts_at": start, "ends_at": start + dt.timedelta(minutes=minutes)}


class ReadingForm(Form):
    """Check-out or check-in: the odometer (cars), how it looks, a photo."""

    odometer_km = forms.IntegerField(
        label=_("Odometer (km)"), min_value=0, max_value=5_000_000, required=False
    )
    condition = forms.CharField(
        label=_("Condition (optional)"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    photo = forms.ImageField(label=_("Photo (optional)"), required=False)


class ProblemForm(Form):
    """Something is wrong: a note (still usable) or a breakdown (out of service)."""

    kind = forms.ChoiceField(
        label=_("How bad is it?"),
        choices=[
            (ProblemKind.NOTE, _("A note: it can still be used")),
            (ProblemKind.BREAKDOWN, _("Broken: it cannot be used")),
        ],
        widget=forms.RadioSelect,
        initial=ProblemKind.NOTE,
    )
    text = forms.CharField(
        label=_("What is wrong?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    booking = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)


__all__ = ["BookForm", "BrowseForm", "CancelForm", "ProblemForm", "ReadingForm", "book_initial"]
