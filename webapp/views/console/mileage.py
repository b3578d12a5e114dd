"""Mileage payouts: kilometres and the amount per driver for a month, and the same as a
CSV file for the treasurer; above them the claims of kilometres beyond what a ride can
take, waiting for a coordinator to approve or decline them."""

import csv
import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.audit.services import audit_record_many
from backend.errors import ApplicationError
from backend.rides.claims import (
    mileage_claim_approve,
    mileage_claim_decision_audit,
    mileage_claim_decline,
)
from backend.rides.models import DriverProfile, MileageClaim
from backend.rides.payouts import mileage_payout_mark_paid, payouts_of_month
from backend.rides.selectors import (
    STOCKHOLM,
    km_in_tenths,
    mileage_claims_of,
    mileage_claims_waiting,
    mileage_report,
)
from backend.rides.services import ride_begins
from webapp.forms.console import DeclineClaimForm, PayoutForm, parse_month
from webapp.views.common import show_error
from webapp.views.console.board import STATUS
from webapp.views.console.common import console_page, coordinator_required


def _month(request) -> dt.date | None:
    value = request.GET.get("month")
    if not value:
        return timezone.localdate().replace(day=1)
    return parse_month(value)


def _sek(ore: int) -> Decimal:
    return Decimal(ore).scaleb(-2)


# The claims waiting are a handful a month; the list stays bounded anyway.
CLAIMS_LIMIT = 50


def _claim_row(claim: MileageClaim) -> dict:
    ride = claim.ride
    return {
        "claim": claim,
        "driver_id": ride.driver_id,
        "driver_name": ride.driver.membership.user.full_name if ride.driver else "",
        "ride": ride,
        "when": ride_begins(ride),
        "month": _month_of(claim),
        "estimate_km": km_in_tenths(ride.distance_m),
        "most_km": km_in_tenths(claim.allowed_m),
        "claimed_km": km_in_tenths(claim.claimed_m),
    }


def _month_of(claim: MileageClaim) -> dt.date:
    """The month the claim's ride counts in: the month it was completed."""
    closed = claim.ride.closed_at or claim.created_at
    return closed.astimezone(STOCKHOLM).date().replace(day=1)


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
    return _page(request, month, audit=True)


def _page(request, month: dt.date, status: int = 200, *, audit: bool = False):
    """The month's page; `audit`: record in the audit log whose mileage and claims it
    shows (the page asked for; not when a refused form shows it again, which writes
    nothing)."""
    association = request.association
    rows = mileage_report(association=association, year=month.year, month=month.month)
    paid = {p.driver_id: p for p in payouts_of_month(association=association, month=month)}
    claims = [
        _claim_row(claim)
        for claim in mileage_claims_waiting(association=association)[:CLAIMS_LIMIT]
    ]
    # A month with kilometres still to decide cannot be paid yet (the payout refuses it).
    undecided = {claim["driver_id"] for claim in claims if claim["month"] == month}
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    following = (month + dt.timedelta(days=32)).replace(day=1)
    if audit:
        audit_record_many(
            actor=request.user,
            action="mileage.view",
            subject_ids=DriverProfile.objects.filter(
                pk__in={row.driver_id for row in rows} | {claim["driver_id"] for claim in claims}
            ).values_list("membership__user_id", flat=True),
            detail={"association": association.pk, "month": f"{month:%Y-%m}"},
        )
    return console_page(
        request,
        "webapp/console/mileage.html",
        {
            "month": month,
            "previous": previous,
            "following": following,
            "claims": claims,
            "decline_form": DeclineClaimForm(),
            "rows": [
                (row, _sek(row.amount_ore), paid.get(row.driver_id), row.driver_id in undecided)
                for row in rows
            ],
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


def _claim(request, pk: int) -> MileageClaim:
    """A claim on one of the association's rides; 404 for any other."""
    return get_object_or_404(mileage_claims_of(association=request.association), pk=pk)


def _back_to(claim: MileageClaim):
    url = reverse("webapp:console-mileage")
    association = claim.ride.association_id
    return redirect(f"{url}?association={association}&month={_month_of(claim):%Y-%m}")


@coordinator_required
@require_POST
def claim_approve(request, pk: int):
    claim = _claim(request, pk)
    row = _claim_row(claim)
    try:
        mileage_claim_approve(claim=claim, actor=request.user)
    except ApplicationError as error:
        show_error(request, error)
        return _page(request, row["month"], status=STATUS[error.kind])
    mileage_claim_decision_audit(claim=claim, actor=request.user, action="approve")
    messages.success(
        request,
        _("%(name)s's %(km)s km are approved and count in full; they have been told.")
        % {"name": row["driver_name"], "km": number_format(row["claimed_km"], decimal_pos=1)},
    )
    return _back_to(claim)


@coordinator_required
@require_POST
def claim_decline(request, pk: int):
    claim = _claim(request, pk)
    row = _claim_row(claim)
    form = DeclineClaimForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Write why the kilometres are not approved, in at most 300 characters.")
        )
        return _page(request, row["month"], status=400)
    try:
        mileage_claim_decline(claim=claim, actor=request.user, reason=form.cleaned_data["reason"])
    except ApplicationError as error:
        show_error(request, error)
        return _page(request, row["month"], status=STATUS[error.kind])
    mileage_claim_decision_audit(claim=claim, actor=request.user, action="decline")
    messages.success(
        request,
        _("%(name)s's ride counts %(km)s km; they have been told why.")
        % {"name": row["driver_name"], "km": number_format(row["most_km"], decimal_pos=1)},
    )
    return _back_to(claim)


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
