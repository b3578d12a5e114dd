"""Volunteer rides (`backend.rides`): one fact per ride request.

- fulfilled: completed; unfulfilled: closed because nobody could drive; cancelled and
  no-show are counted apart and are neither.
- vehicle_m and volunteer_m: the kilometres the driver reported for the ride (what the
  mileage allowance pays: beyond what the ride can take only once a coordinator approved
  them), else the trip's estimate; passenger_m: passengers x the trip's distance.
- volunteer_s: from the driver setting off (en route) to drop-off when both were
  reported within 12 hours; otherwise the planned time of the trip (travel time plus
  boarding, the `busy` range).
- accept_delay_s: request to the (last) acceptance by a driver.
- The day is the local date of the earliest pickup: the day the ride is for.
"""

from django.utils.translation import gettext_lazy as _

from backend.stats.sources import Source

FACTS_SQL = """
SELECT
    ''::varchar AS kind,
    a.municipality_id,
    r.association_id,
    r.village_id,
    (r.earliest_pickup AT TIME ZONE %(tz)s)::date AS day,
    r.rider_id AS person_id,
    (u.birth_year IS NOT NULL
        AND EXTRACT(YEAR FROM r.earliest_pickup AT TIME ZONE %(tz)s) - u.birth_year
            >= %(elderly_age)s) AS elderly,
    u.is_managed AS managed,
    r.state = 'completed' AS fulfilled,
    r.state = 'unfulfilled' AS unfulfilled,
    r.state = 'cancelled' AS cancelled,
    r.state = 'no_show' AS no_show,
    r.passengers::integer AS passengers,
    COALESCE(r.driven_m, r.distance_m)::bigint AS vehicle_m,
    (r.passengers * r.distance_m)::bigint AS passenger_m,
    CASE
        WHEN started.at IS NOT NULL AND r.closed_at > started.at
            AND r.closed_at - started.at <= interval '12 hours'
        THEN EXTRACT(EPOCH FROM r.closed_at - started.at)
        ELSE COALESCE(EXTRACT(EPOCH FROM upper(r.busy) - lower(r.busy)), 0)
    END::bigint AS volunteer_s,
    COALESCE(r.driven_m, r.distance_m)::bigint AS volunteer_m,
    0::bigint AS usage_s,
    CASE WHEN r.accepted_at IS NOT NULL
        THEN GREATEST(EXTRACT(EPOCH FROM r.accepted_at - r.created_at), 0)::integer
    END AS accept_delay_s,
    ST_X(r.pickup::geometry) AS lon,
    ST_Y(r.pickup::geometry) AS lat
FROM rides_riderequest r
JOIN community_association a ON a.id = r.association_id
JOIN accounts_user u ON u.id = r.rider_id
LEFT JOIN LATERAL (
    SELECT max(e.at) AS at FROM rides_rideevent e
    WHERE e.ride_id = r.id AND e.to_state = 'en_route'
) started ON r.state = 'completed'
"""

# Every change of a ride's state is a RideEvent (creation included), and the one change
# of a closed ride's kilometres is a coordinator deciding its mileage claim, so the events
# and decisions since the last refresh name every (association, day) whose figures may
# have changed.
CHANGED_SQL = """
SELECT DISTINCT r.association_id, (r.earliest_pickup AT TIME ZONE %(tz)s)::date AS day
FROM rides_rideevent e
JOIN rides_riderequest r ON r.id = e.ride_id
WHERE e.at >= %(since)s
UNION
SELECT r.association_id, (r.earliest_pickup AT TIME ZONE %(tz)s)::date AS day
FROM rides_mileageclaim c
JOIN rides_riderequest r ON r.id = c.ride_id
WHERE c.decided_at >= %(since)s
"""

SOURCE = Source(
    service="rides", label=_("Volunteer rides"), facts_sql=FACTS_SQL, changed_sql=CHANGED_SQL
)
