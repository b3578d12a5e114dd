"""Mileage payouts: kilometres and the amount per driver for a month, and the same as a
CSV file for the treasurer."""

import csv
import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.errors import ApplicationError
from backend.rides.models import DriverProfile
from backend.rides.payouts import mileage_payout_mark_paid, payouts_of_month
from backend.rides.selectors import mileage_report
from webapp.forms.console import PayoutForm, parse_month
from webapp.views.common import show_error
from webapp.views.console.common import console_page, coordinator_required


def _month(request) -> dt.date | None:
    value = request.GET.get("month")
    if not value:
        return timezone.localdate().replace(day=1)
    return parse_month(value)


def _sek(ore: int) -> Decimal:
    return Decimal(ore).scaleb(-2)


@coordinator_required
@require_GET
def mileage(request):
    month = _month(request)
    if month is None:
        return console_page(
            request,
            "webapp/console/mileage.html",
            {"month_error": _("Give the month as YYYY-MM, e.g. 2025-03."), "rows": []},
            status=400,
        )
    return _page(request, month)


def _page(request, month: dt.date, status: int = 200):
    rows = mileage_report(association=request.association, year=month.year, month=month.month)
    paid = {p.driver_id: p for p in payouts_of_month(association=request.association, month=month)}
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    following = (month + dt.timedelta(days=32)).replace(day=1)
    return console_page(
        request,
        "webapp/console/mileage.html",
        {
            "month": month,
            "previous": previous,
            "following": following,
            "rows": [(row, _sek(row.amount_ore), paid.get(row.driver_id)) for row in rows],
            "month_over": month < timezone.localdate().replace(day=1),
            "total_km": sum(row.km for row in rows),
            "total_sek": _sek(sum(row.amount_ore for row in rows)),
            "rate_sek": _sek(settings.MILEAGE_RATE_ORE_PER_KM),
        },
        status=status,
    )


@coordinator_required
@require_POST
def mark_paid(request):
    association = request.association
    form = PayoutForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a driver and a month (YYYY-MM)."))
        return _page(request, timezone.localdate().replace(day=1), status=400)
    month = form.cleaned_data["month"]
    driver = (
        DriverProfile.objects.select_related("membership__user")
        .filter(pk=form.cleaned_data["driver"], membership__association=association)
        .first()
    )
    if driver is None:
        messages.error(request, _("There is no such driver in the association."))
        return _page(request, month, status=400)
    try:
        payout = mileage_payout_mark_paid(
            actor=request.user, association=association, driver=driver, month=month
        )
    except ApplicationError as error:
        show_error(request, error)
        return _page(request, month, status=409)
    messages.success(
        request,
        _("%(name)s: %(amount)s SEK for %(month)s marked as paid.")
        % {
            "name": driver.membership.user.full_name,
            "amount": number_format(_sek(payout.amount_ore), decimal_pos=2),
            "month": f"{month:%Y-%m}",
        },
    )
    url = reverse("webapp:console-mileage")
    return redirect(f"{url}?association={association.pk}&month={month:%Y-%m}")


@coordinator_required
@require_GET
def mileage_csv(request):
    month = _month(request)
    if month is None:
        return HttpResponse(
            _("Give the month as YYYY-MM, e.g. 2025-03."),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    rows = mileage_report(association=request.association, year=month.year, month=month.month)
    paid = {p.driver_id: p for p in payouts_of_month(association=request.association, month=month)}
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="mileage-{request.association.pk}-{month:%Y-%m}.csv"'
    )
    # A byte order mark, so that Excel shows å, ä and ö.
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("driver"), _("rides"), _("km"), _("amount (SEK)"), _("paid on")])
    for row in rows:
        payout = paid.get(row.driver_id)
        paid_on = timezone.localdate(payout.paid_at).isoformat() if payout else ""
        writer.writerow([row.driver_name, row.rides, row.km, _sek(row.amount_ore), paid_on])
    return response
