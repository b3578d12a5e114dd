"""Carpool (`backend.carpool`): one fact per seat booking on a departure.

- fulfilled: a confirmed booking on a departure that has left (departed or completed);
  unfulfilled: the driver declined it or cancelled (the booking, or the departure);
  cancelled: the passenger cancelled. Bookings still waiting are in `requests` only.
- passengers: the seats booked (seats filled); passenger_m: seats x the part of the
  route ridden (drop-off minus pickup fraction of the trip's distance).
- vehicle_m: the driver's trip divided among the departure's fulfilled bookings, so a
  departure counts its distance once; volunteer_* = 0 (drivers travel for themselves).
- accept_delay_s: request to the driver's answer (instant bookings: 0).
- village: the trip's village of departure, else the association's village nearest the
  pickup. The day is the local date of the pickup.
"""

from django.utils.translation import gettext_lazy as _

from backend.stats.sources import Source
from backend.stats.sources.common import NEAREST_VILLAGE, elderly

FULFILLED = "b.state = 'confirmed' AND o.status IN ('departed', 'completed')"

FACTS_SQL = f"""
SELECT
    ''::varchar AS kind,
    a.municipality_id,
    t.association_id,
    COALESCE(t.origin_village_id,
        {NEAREST_VILLAGE.format(association="t.association_id", point="b.pickup")}) AS village_id,
    (b.pickup_at AT TIME ZONE %(tz)s)::date AS day,
    b.passenger_id AS person_id,
    {elderly(birth_year="u.birth_year", moment="b.pickup_at")} AS elderly,
    u.is_managed AS managed,
    ({FULFILLED}) AS fulfilled,
    (b.state = 'declined' OR (b.state = 'cancelled' AND b.cancelled_by = 'driver')
        OR (b.state IN ('requested', 'confirmed') AND o.status = 'cancelled')) AS unfulfilled,
    (b.state = 'cancelled' AND b.cancelled_by = 'passenger') AS cancelled,
    false AS no_show,
    b.seats::integer AS passengers,
    (t.distance_m::float / GREATEST(shared.bookings, 1))::bigint AS vehicle_m,
    (b.seats * GREATEST(b.dropoff_fraction - b.pickup_fraction, 0) * t.distance_m)::bigint
        AS passenger_m,
    0::bigint AS volunteer_s,
    0::bigint AS volunteer_m,
    0::bigint AS usage_s,
    CASE WHEN b.answered_at IS NOT NULL AND b.state <> 'declined'
        THEN GREATEST(EXTRACT(EPOCH FROM b.answered_at - b.created_at), 0)::integer
        WHEN t.instant_booking AND b.state = 'confirmed' THEN 0
    END AS accept_delay_s,
    ST_X(b.pickup::geometry) AS lon,
    ST_Y(b.pickup::geometry) AS lat
FROM carpool_booking b
JOIN carpool_tripoccurrence o ON o.id = b.occurrence_id
JOIN carpool_trip t ON t.id = o.trip_id
JOIN community_association a ON a.id = t.association_id
JOIN accounts_user u ON u.id = b.passenger_id
LEFT JOIN LATERAL (
    SELECT count(*) AS bookings FROM carpool_booking s
    WHERE s.occurrence_id = b.occurrence_id AND s.state = 'confirmed'
) shared ON {FULFILLED}
"""  # noqa: S608 - built from constant pieces only, no input

# Bookings have no change log: a booking made, answered or closed since then, and every
# booking of a departure around now (departures leave and complete without touching
# their bookings). The nightly rebuild catches anything else.
CHANGED_SQL = """
SELECT DISTINCT t.association_id, (b.pickup_at AT TIME ZONE %(tz)s)::date AS day
FROM carpool_booking b
JOIN carpool_tripoccurrence o ON o.id = b.occurrence_id
JOIN carpool_trip t ON t.id = o.trip_id
WHERE (
    b.created_at >= %(since)s OR b.answered_at >= %(since)s OR b.closed_at >= %(since)s
    OR o.departure_at BETWEEN %(since)s - interval '1 day' AND now() + interval '1 day'
)
"""

SOURCE = Source(service="carpool", label=_("Carpool"), facts_sql=FACTS_SQL, changed_sql=CHANGED_SQL)
