"""Shared things (`backend.sharing`): one fact per booking, `kind` = the resource kind
(car, tool, room), so loans and hours are counted per kind.

- fulfilled: returned (a loan); unfulfilled: declined by the owner or coordinator;
  cancelled: cancelled. Bookings still ahead or out are in `requests` only.
- usage_s: checked-out time (check-out to return): "car hours" for cars.
- vehicle_m: the km driven by the odometer (cars); passengers: 1 for a car (the
  driver), else 0; passenger_m = vehicle_m (the people in the car are not recorded).
  So car sharing shows no CO2 avoided per trip: its gain is in cars not owned.
- volunteer_* = 0; accept_delay_s: request to approval, for bookings someone approved.
- village: the association's village nearest the resource. The day is the local date
  the booking starts.
"""

from django.utils.translation import gettext_lazy as _

from backend.stats.sources import Source
from backend.stats.sources.common import NEAREST_VILLAGE, elderly

FACTS_SQL = f"""
SELECT
    r.kind::varchar AS kind,
    a.municipality_id,
    r.association_id,
    {NEAREST_VILLAGE.format(association="r.association_id", point="r.location")} AS village_id,
    (b.starts_at AT TIME ZONE %(tz)s)::date AS day,
    b.booker_id AS person_id,
    {elderly(birth_year="u.birth_year", moment="b.starts_at")} AS elderly,
    u.is_managed AS managed,
    b.status = 'returned' AS fulfilled,
    b.status = 'declined' AS unfulfilled,
    b.status = 'cancelled' AS cancelled,
    false AS no_show,
    CASE WHEN r.kind = 'car' THEN 1 ELSE 0 END AS passengers,
    (COALESCE(b.km_driven, 0) * 1000)::bigint AS vehicle_m,
    (COALESCE(b.km_driven, 0) * 1000)::bigint AS passenger_m,
    0::bigint AS volunteer_s,
    0::bigint AS volunteer_m,
    COALESCE(GREATEST(EXTRACT(EPOCH FROM b.returned_at - b.checked_out_at), 0), 0)::bigint
        AS usage_s,
    CASE WHEN b.decided_at IS NOT NULL AND b.status <> 'declined'
        THEN GREATEST(EXTRACT(EPOCH FROM b.decided_at - b.created_at), 0)::integer
    END AS accept_delay_s,
    ST_X(r.location::geometry) AS lon,
    ST_Y(r.location::geometry) AS lat
FROM sharing_booking b
JOIN sharing_resource r ON r.id = b.resource_id
JOIN community_association a ON a.id = r.association_id
JOIN accounts_user u ON u.id = b.booker_id
"""  # noqa: S608 - built from constant pieces only, no input

# Every change of a booking sets one of its times (made, decided, out, back).
CHANGED_SQL = """
SELECT DISTINCT r.association_id, (b.starts_at AT TIME ZONE %(tz)s)::date AS day
FROM sharing_booking b
JOIN sharing_resource r ON r.id = b.resource_id
WHERE b.created_at >= %(since)s OR b.decided_at >= %(since)s
    OR b.checked_out_at >= %(since)s OR b.returned_at >= %(since)s
"""

SOURCE = Source(
    service="sharing", label=_("Shared things"), facts_sql=FACTS_SQL, changed_sql=CHANGED_SQL
)
