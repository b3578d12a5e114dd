"""Mileage payouts: kilometres and the amount per driver for a month, and the same as a
CSV file for the treasurer."""

import csv
import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from backend.rides.selectors import mileage_report
from webapp.forms.console import parse_month
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
    rows = mileage_report(association=request.association, year=month.year, month=month.month)
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    following = (month + dt.timedelta(days=32)).replace(day=1)
    return console_page(
        request,
        "webapp/console/mileage.html",
        {
            "month": month,
            "previous": previous,
            "following": following,
            "rows": [(row, _sek(row.amount_ore)) for row in rows],
            "total_km": sum(row.km for row in rows),
            "total_sek": _sek(sum(row.amount_ore for row in rows)),
            "rate_sek": _sek(settings.MILEAGE_RATE_ORE_PER_KM),
        },
    )


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
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="mileage-{request.association.pk}-{month:%Y-%m}.csv"'
    )
    # A byte order mark, so that Excel shows å, ä and ö.
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("driver"), _("rides"), _("km"), _("amount (SEK)")])
    for row in rows:
        writer.writerow([row.driver_name, row.rides, row.km, _sek(row.amount_ore)])
    return response
