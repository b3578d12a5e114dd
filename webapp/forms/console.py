"""Forms of the association console. They check what was typed; the rules are in the
services."""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from backend.rides.models import Need, RideState
from webapp.forms import Form
from webapp.forms.rides import LOCAL_DATETIME
from webapp.forms.sharing import LOCAL_FORMATS

BOARD_FIRST_DAY = dt.date(2000, 1, 1)
BOARD_DAYS_AHEAD = dt.timedelta(days=2 * 366)


class BoardFilterForm(Form):
    village = forms.TypedChoiceField(label=_("Village"), coerce=int, required=False)
    state = forms.ChoiceField(label=_("State"), required=False)
    day = forms.DateField(
        label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, villages, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["village"].choices = [("", _("All villages"))] + [
            (village.pk, village.name) for village in villages
        ]
        self.fields["state"].choices = [("", _("All states")), *RideState.choices]

    def clean_day(self) -> dt.date | None:
        day = self.cleaned_data["day"]
        # Nobody books years ahead; the bound also keeps the day after it a real date.
        first, last = BOARD_FIRST_DAY, timezone.localdate() + BOARD_DAYS_AHEAD
        if day is not None and not first <= day <= last:
            raise forms.ValidationError(
                _("Choose a day between %(first)s and %(last)s.")
                % {"first": date_format(first), "last": date_format(last)}
            )
        return day


class DriverChoiceForm(Form):
    driver = forms.TypedChoiceField(label=_("Driver"), coerce=int)

    def __init__(self, *args, drivers: list[tuple[int, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["driver"].choices = drivers


class ReassignForm(DriverChoiceForm):
    reason = forms.CharField(label=_("Why (the first driver sees it)"), max_length=300)


class PersonSearchForm(Form):
    q = forms.CharField(label=_("Name or phone number"), max_length=100, min_length=2)


class ManagedProfileForm(Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    phone = forms.CharField(label=_("Phone number (optional)"), max_length=20, required=False)
    home_address = forms.CharField(
        label=_("Home address (optional)"), max_length=300, required=False
    )
    approve_rides = forms.BooleanField(
        label=_("Approved for volunteer rides"), required=False, initial=True
    )


class ShopSeatForm(Form):
    occurrence = forms.TypedChoiceField(label=_("Shop run"), coerce=int)
    pickup_address = forms.CharField(
        label=_("Pick up at (empty: home address)"), max_length=300, required=False
    )
    needs = forms.MultipleChoiceField(
        label=_("Needs"), choices=Need.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    waitlist = forms.BooleanField(label=_("Waitlist when the run is full"), required=False)

    def __init__(self, *args, occurrences: list[tuple[int, str]], **kwargs) -> None:
        # On one page with the ride form, which has fields of the same names: ids of
        # their own keep each label on its own input. The posted names stay the same.
        kwargs.setdefault("auto_id", "seat_%s")
        super().__init__(*args, **kwargs)
        self.fields["occurrence"].choices = occurrences


class SuspendForm(Form):
    reason = forms.CharField(label=_("Reason (the member sees it)"), max_length=300)


class DeclineForm(Form):
    reason = forms.CharField(
        label=_("Reason (optional, the person sees it)"), max_length=300, required=False
    )


class RiderApprovalForm(Form):
    notes = forms.CharField(
        label=_("Eligibility notes (optional)"), max_length=1000, required=False
    )


class ReleaseRidesForm(Form):
    """The roster's "Give rides back": why all of a driver's rides go back to dispatch."""

    reason = forms.CharField(
        label=_("Why (the driver sees it)"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": _("Say why the rides go back to dispatch; the driver will see it.")
        },
    )


class DriverRoleForm(Form):
    """The roster's "Make volunteer driver" / "No longer a driver" buttons: a hidden
    field saying which."""

    GIVE, TAKE = "give", "take"

    driver = forms.ChoiceField(choices=[(GIVE, GIVE), (TAKE, TAKE)])


class CoordinatorRoleForm(Form):
    """The roster's page asking before giving or taking the coordinator role: a hidden
    field saying which, so a page left open gives or takes what it asked about."""

    GIVE, TAKE = "give", "take"

    coordinator = forms.ChoiceField(choices=[(GIVE, GIVE), (TAKE, TAKE)])


def parse_month(value: str | None) -> dt.date | None:
    """'YYYY-MM' as the first day of that month; None when malformed."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        if not 2000 <= year <= 2999:
            return None
        return dt.date(year, month, 1)
    except ValueError:
        return None


class PayoutForm(Form):
    driver = forms.IntegerField(min_value=1)
    month = forms.CharField(max_length=7)

    def clean_month(self) -> dt.date:
        month = parse_month(self.cleaned_data["month"])
        if month is None:
            raise forms.ValidationError(_("Use the form YYYY-MM."))
        return month


class DeclineClaimForm(Form):
    reason = forms.CharField(label=_("Reason (the driver sees it)"), max_length=300)


class DeclineBookingForm(Form):
    reason = forms.CharField(label=_("Reason (the booker sees it)"), max_length=300)


class CancelForCallerForm(Form):
    reason = forms.CharField(
        label=_("Reason (optional, the caller is told)"), max_length=300, required=False
    )


class OutOfServiceForm(Form):
    text = forms.CharField(label=_("What is wrong (bookers see it)"), max_length=1000)


class ItemBookingForm(Form):
    """A shared thing of the association booked for a caller."""

    resource = forms.TypedChoiceField(label=_("What"), coerce=int)
    starts_at = forms.DateTimeField(
        label=_("From"), widget=LOCAL_DATETIME, input_formats=LOCAL_FORMATS
    )
    ends_at = forms.DateTimeField(
        label=_("Until"), widget=LOCAL_DATETIME, input_formats=LOCAL_FORMATS
    )
    note = forms.CharField(label=_("Note to the owner (optional)"), max_length=500, required=False)

    def __init__(self, *args, resources: list[tuple[int, str]], **kwargs) -> None:
        kwargs.setdefault("auto_id", "item_%s")  # as ShopSeatForm: shares the page
        super().__init__(*args, **kwargs)
        self.fields["resource"].choices = resources


class MemberMessageForm(Form):
    """A message to every active member of the association."""

    text = forms.CharField(
        label=_("Message"),
        max_length=600,
        help_text=_("Short and plain: it may go by SMS. Say the day and the time."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    urgent = forms.BooleanField(
        label=_("Urgent: send the SMS in quiet hours too"),
        required=False,
    )
