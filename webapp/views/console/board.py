"""The live dispatch board, and one ride with the drivers who could take it."""

import datetime as dt

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.community.models import MembershipState, Role
from backend.db import fetch_dicts
from backend.errors import ApplicationError, ErrorKind
from backend.rides.models import (
    CLOSED_STATES,
    DRIVER_HOLDS,
    OPEN_STATES,
    DriverProfile,
    Need,
    Offer,
    OfferState,
    RideEvent,
    RideRequest,
    RideState,
)
from backend.rides.services import CANCELLABLE_STATES, return_trip_cancellable
from dispatch.matching import candidates, local_zone
from dispatch.offers import ride_assign_by_coordinator, ride_reassign_by_coordinator
from dispatch.services import ride_cancel as ride_cancel_and_withdraw_offers
from webapp.forms.console import BoardFilterForm, DriverChoiceForm, ReassignForm
from webapp.forms.rides import CancelForm, map_settings
from webapp.views.common import show_error
from webapp.views.console.common import console_page, coordinator_required, html_row, row_url

STATUS = {
    ErrorKind.INVALID: 400,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
}
# A ride without a driver this close to its pickup needs a person on the phone.
SOON = dt.timedelta(hours=1)
BOARD_LIMIT = 200


def _today_start() -> dt.datetime:
    now = timezone.now().astimezone(local_zone())
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


# What a row of the board shows, read with SQL: the board is fetched again on every live
# event, and building the ORM query cost more than running it (backend/db.py).
_BOARD_ROWS = """
    SELECT r.id, r.state, r.earliest_pickup, r.pickup_address, r.destination_address,
           r.driver_id, ST_X(r.pickup::geometry) AS lon, ST_Y(r.pickup::geometry) AS lat,
           u.full_name AS rider_name, v.name AS village_name, du.full_name AS driver_name
      FROM rides_riderequest AS r
      JOIN accounts_user AS u ON u.id = r.rider_id
      LEFT JOIN community_village AS v ON v.id = r.village_id
      LEFT JOIN rides_driverprofile AS d ON d.id = r.driver_id
      LEFT JOIN community_membership AS m ON m.id = d.membership_id
      LEFT JOIN accounts_user AS du ON du.id = m.user_id
     WHERE r.association_id = %(association)s AND r.earliest_pickup >= %(start)s
"""


def board_rides(association, values: dict) -> list[dict]:
    """Today's and upcoming rides (or one day's), by time, as rows of what the board shows
    (plain values: no village areas, no drivers' home bases, no contact details)."""
    params = {"association": association.pk, "start": _today_start(), "limit": BOARD_LIMIT}
    sql = _BOARD_ROWS
    day = values.get("day")
    if day:
        params["start"] = dt.datetime.combine(day, dt.time(), tzinfo=local_zone())
        params["end"] = params["start"] + dt.timedelta(1)
        sql += " AND r.earliest_pickup < %(end)s"
    if values.get("village"):
        params["village"] = values["village"]
        sql += " AND r.village_id = %(village)s"
    if values.get("state"):
        params["state"] = values["state"]
        sql += " AND r.state = %(state)s"
    return fetch_dicts(sql + " ORDER BY r.earliest_pickup, r.id LIMIT %(limit)s", params)


def _label_rows(rides: list[dict], association) -> None:
    """What each row shows, worked out once per ride in Python: `get_state_display`,
    the `date` filter and `{% url %}` per row were most of the page's time."""
    state_labels = {value: str(label) for value, label in RideState.choices}
    days: dict[dt.date, str] = {}
    url = row_url("webapp:console-ride", query=f"?association={association.pk}")
    for ride in rides:
        local = timezone.localtime(ride["earliest_pickup"])
        day = days.get(local.date())
        if day is None:
            day = days[local.date()] = date_format(local, "D j M")
        ride["time_label"] = f"{local:%H:%M}"
        ride["when_label"] = f"{day} {ride['time_label']}"
        ride["state_label"] = state_labels[ride["state"]]
        ride["url"] = url(ride["id"])
        ride["row"] = html_row(
            BOARD_ROW,
            state=ride["state"],
            id=ride["id"],
            url=ride["url"],
            when=ride["when_label"],
            rider=ride["rider_name"],
            village=ride["village_name"] or "\u2013",
            start=ride["pickup_address"],
            end=ride["destination_address"],
            state_label=ride["state_label"],
            driver=ride["driver_name"] if ride["driver_id"] else "\u2013",
        )


# One row of the board's table (the template's loop prints them; see `html_row`).
BOARD_ROW = (
    '\n        <tr class="state-{state}" data-ride="{id}">'
    '\n          <td><a href="{url}">{when}</a></td>'
    "\n          <td>{rider}</td>"
    "\n          <td>{village}</td>"
    "\n          <td>{start} \u2013 {end}</td>"
    '\n          <td data-state="{state}">{state_label}</td>'
    "\n          <td>{driver}</td>"
    "\n        </tr>\n      "
)


# The filter form's fields as HTML, by language, villages and the filters asked for.
# Django's form templates were a quarter of the board's function calls, and the board
# is fetched again on every live event with the same few inputs. Bounded: the filters
# are what anyone typed.
_FILTER_FIELDS: dict[tuple, dict[str, SafeString]] = {}
_FILTER_FIELDS_MAX = 500


def _filter_fields(form: BoardFilterForm, villages: list) -> dict[str, SafeString]:
    """Each field of the form as `as_field_group` writes it (which depends only on the
    key: the form's choices come from the villages, its values and errors from the data)."""
    key = (
        get_language(),
        timezone.localdate(),  # the day filter's bound moves with it
        tuple((village.pk, village.name) for village in villages),
        form.is_bound and tuple((name, tuple(form.data.getlist(name))) for name in form.fields),
    )
    fields = _FILTER_FIELDS.get(key)
    if fields is None:
        if len(_FILTER_FIELDS) >= _FILTER_FIELDS_MAX:
            _FILTER_FIELDS.clear()
        fields = _FILTER_FIELDS[key] = {name: form[name].as_field_group() for name in form.fields}
    return fields


@coordinator_required
@require_GET
def board(request):
    association = request.association
    villages = list(association.villages.order_by("name").only("name"))
    form = BoardFilterForm(request.GET or None, villages=villages)
    values = form.cleaned_data if form.is_bound and form.is_valid() else {}
    rides = board_rides(association, values)
    _label_rows(rides, association)
    now = timezone.now()
    unassigned = [ride for ride in rides if ride["state"] == RideState.UNASSIGNED]
    soon = [
        ride
        for ride in rides
        if ride["state"] in OPEN_STATES and ride["earliest_pickup"] <= now + SOON
    ]
    drivers = list(
        DriverProfile.objects.filter(
            membership__association=association,
            membership__state=MembershipState.ACTIVE,
            active=True,
            on_duty=True,
        )
        .select_related("membership__user")
        .only("position", "position_at", "membership__user__full_name")
    )
    points = {
        "rides": [
            {
                "id": ride["id"],
                "at": [ride["lon"], ride["lat"]],
                "open": ride["state"] in OPEN_STATES,
                "label": f"{ride['time_label']} {ride['state_label']}",
            }
            for ride in rides
            if ride["state"] not in CLOSED_STATES
        ],
        "drivers": [
            {"id": d.pk, "at": [d.position.x, d.position.y], "label": d.membership.user.full_name}
            for d in drivers
            if d.position is not None
        ],
    }
    return console_page(
        request,
        "webapp/console/board.html",
        {
            "form": form,
            "filter_fields": _filter_fields(form, villages),
            "rides": rides,
            # One string for all rows: a template loop costs a few dozen calls per row.
            "ride_rows": SafeString("".join(ride["row"] for ride in rides)),
            "unassigned": unassigned,
            "soon": soon,
            "drivers": drivers,
            "map": map_settings(),
            "map_points": points,
            "open_states": OPEN_STATES,
        },
        status=400 if form.errors else 200,
    )


def _week_load(driver_ids: list[int]) -> dict[int, int]:
    """Rides each driver holds or drove this week (Monday to Sunday, local time)."""
    start = _today_start()
    start -= dt.timedelta(days=start.weekday())
    rows = (
        RideRequest.objects.filter(
            driver_id__in=driver_ids,
            state__in=[*DRIVER_HOLDS, RideState.COMPLETED],
            planned_pickup__gte=start,
            planned_pickup__lt=start + dt.timedelta(days=7),
        )
        .values("driver_id")
        .annotate(n=Count("pk"))
    )
    return {row["driver_id"]: row["n"] for row in rows}


def _association_drivers(association):
    return (
        DriverProfile.objects.filter(
            membership__association=association,
            membership__state=MembershipState.ACTIVE,
            membership__roles__contains=[Role.DRIVER],
            active=True,
        )
        .select_related("membership__user")
        .order_by("membership__user__full_name")
    )


def _ride_context(
    request,
    ride: RideRequest,
    form: DriverChoiceForm | None = None,
    reassign_form: ReassignForm | None = None,
    cancel_form: CancelForm | None = None,
) -> dict:
    found = candidates(ride) if ride.state in OPEN_STATES else []
    can_cancel = ride.state in CANCELLABLE_STATES
    drivers = {d.pk: d for d in _association_drivers(request.association)}
    load = _week_load(list(drivers))
    suggestions = [
        {
            "driver": drivers[c.driver_id],
            "km": round(c.distance_m / 1000, 1),
            "pickup_at": c.pickup_at,
            "recent": c.recent_rides,
            "week": load.get(c.driver_id, 0),
        }
        for c in found
        if c.driver_id in drivers
    ]
    choices = [(d.pk, d.membership.user.full_name) for d in drivers.values()]
    states = {value: str(label) for value, label in RideState.choices}
    events = list(RideEvent.objects.filter(ride=ride).select_related("actor").order_by("at"))
    for event in events:
        event.to_state_label = states.get(event.to_state, event.to_state)
    return {
        "ride": ride,
        "need_labels": [str(Need(need).label) for need in ride.needs],
        "suggestions": suggestions,
        "assign_form": form or DriverChoiceForm(drivers=choices),
        "reassign_form": reassign_form
        or ReassignForm(drivers=[c for c in choices if c[0] != ride.driver_id]),
        "can_reassign": ride.state in (RideState.ACCEPTED, RideState.EN_ROUTE),
        "declined": Offer.objects.filter(ride=ride, state=OfferState.DECLINED)
        .select_related("driver__membership__user")
        .order_by("answered_at"),
        "events": events,
        "can_assign": ride.state in OPEN_STATES,
        "drivers_count": len(choices),
        "can_cancel": can_cancel,
        "cancel_form": cancel_form
        or CancelForm(return_trip=return_trip_cancellable(ride=ride) if can_cancel else None),
    }


def _ride_of(request, pk: int) -> RideRequest:
    """A ride of the console's association; 404 for any other ride."""
    return get_object_or_404(
        RideRequest.objects.select_related(
            "rider", "village", "association", "driver__membership__user"
        ).filter(association=request.association),
        pk=pk,
    )


@coordinator_required
@require_GET
def ride(request, pk: int):
    ride = _ride_of(request, pk)
    return console_page(request, "webapp/console/ride.html", _ride_context(request, ride))


@coordinator_required
@require_POST
def assign(request, pk: int):
    ride = _ride_of(request, pk)
    drivers = _association_drivers(request.association)
    form = DriverChoiceForm(
        request.POST, drivers=[(d.pk, d.membership.user.full_name) for d in drivers]
    )
    if form.is_valid():
        driver = drivers.get(pk=form.cleaned_data["driver"])
        try:
            ride_assign_by_coordinator(ride_id=ride.pk, driver=driver, actor=request.user)
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            messages.success(
                request,
                _("%(name)s drives this ride and has been told.")
                % {"name": driver.membership.user.full_name},
            )
            url = reverse("webapp:console-ride", args=[ride.pk])
            return redirect(f"{url}?association={ride.association_id}")
    return console_page(
        request, "webapp/console/ride.html", _ride_context(request, ride, form), status=400
    )


@coordinator_required
@require_POST
def reassign(request, pk: int):
    ride = _ride_of(request, pk)
    drivers = _association_drivers(request.association)
    form = ReassignForm(
        request.POST, drivers=[(d.pk, d.membership.user.full_name) for d in drivers]
    )
    status = 400
    if form.is_valid():
        driver = drivers.get(pk=form.cleaned_data["driver"])
        try:
            ride_reassign_by_coordinator(
                ride_id=ride.pk,
                driver=driver,
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as error:
            show_error(request, error, form)
            status = STATUS[error.kind]
        else:
            messages.success(
                request,
                _("%(name)s drives this ride now; both drivers have been told.")
                % {"name": driver.membership.user.full_name},
            )
            url = reverse("webapp:console-ride", args=[ride.pk])
            return redirect(f"{url}?association={ride.association_id}")
    ride.refresh_from_db()
    return console_page(
        request,
        "webapp/console/ride.html",
        _ride_context(request, ride, reassign_form=form),
        status=status,
    )


@coordinator_required
@require_POST
def cancel(request, pk: int):
    """The member cannot come (she phoned in ill, say): the ride, and its return trip when
    asked, are cancelled for them; the member and a driver who held it are told."""
    ride = _ride_of(request, pk)
    back = return_trip_cancellable(ride=ride)
    form = CancelForm(request.POST, return_trip=back)
    status = 400
    if form.is_valid():
        with_return = form.cleaned_data.get("with_return", False)
        try:
            ride_cancel_and_withdraw_offers(
                ride=ride,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                with_return=with_return,
            )
        except ApplicationError as error:
            # At the top of the page: a ride that cannot be cancelled shows no form.
            show_error(request, error)
            status = STATUS[error.kind]
        else:
            if with_return:
                text = _("The ride and its return trip are cancelled. %(name)s has been told.")
            elif back is not None:
                text = _(
                    "The ride is cancelled; its return trip is still booked. "
                    "%(name)s has been told."
                )
            else:
                text = _("The ride is cancelled. %(name)s has been told.")
            messages.success(request, text % {"name": ride.rider.full_name})
            url = reverse("webapp:console-ride", args=[ride.pk])
            return redirect(f"{url}?association={ride.association_id}")
    ride.refresh_from_db()
    return console_page(
        request,
        "webapp/console/ride.html",
        _ride_context(request, ride, cancel_form=form),
        status=status,
    )
