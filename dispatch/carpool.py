"""Carpool entry points that start background work once the change is committed."""

import datetime as dt

from django.db import transaction

from backend.accounts.models import User
from backend.carpool import services as carpool
from backend.carpool.models import SavedSearch, Trip, TripOccurrence
from dispatch.carpool_matching import saved_searches_matching
from dispatch.tasks import carpool_trip_alerts


def trip_publish(**trip) -> Trip:
    """Publish the trip (see backend.carpool.services.trip_publish for the arguments);
    after commit, tell the owners of ride alerts it matches."""
    with transaction.atomic():
        published = carpool.trip_publish(**trip)
        transaction.on_commit(lambda: carpool_trip_alerts.delay(published.pk))
    return published


def occurrence_move(
    *, occurrence: TripOccurrence, actor: User, departure_at: dt.datetime
) -> TripOccurrence:
    """Move the departure (see backend.carpool.services.occurrence_move); after commit,
    match the trip against the ride alerts again as publishing does, so an alert whose
    hours suit only the new time is told. An alert already told about the trip is not
    told again (`alert_once_per_trip`)."""
    with transaction.atomic():
        before = occurrence.departure_at
        moved = carpool.occurrence_move(
            occurrence=occurrence, actor=actor, departure_at=departure_at
        )
        if moved.departure_at != before:
            transaction.on_commit(lambda: carpool_trip_alerts.delay(moved.trip_id))
    return moved


def trip_alerts_send(*, trip_id: int) -> int:
    """The reverse match: every active ride alert this trip satisfies gets one
    notification (a second run sends nothing new)."""
    pairs = saved_searches_matching(trip_id=trip_id)
    if not pairs:
        return 0
    searches = SavedSearch.objects.select_related("owner").in_bulk([s for s, _ in pairs])
    occurrences = TripOccurrence.objects.select_related("trip").in_bulk([o for _, o in pairs])
    return sum(
        carpool.saved_search_alert_send(search=searches[s], occurrence=occurrences[o])
        for s, o in pairs
    )
