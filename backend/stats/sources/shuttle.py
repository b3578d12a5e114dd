"""Shop runs (`backend.shuttle`): one fact per sign-up to a run (attendance).

- fulfilled: picked up; no-show: the driver found nobody home; cancelled: the
  passenger's side cancelled; unfulfilled: the run was cancelled, or the run has left
  and the person was still waiting for a seat (waitlisted or offered).
- passengers: the seats of the sign-up; passenger_m: seats x the straight-line distance
  from the pickup to the shop and back (runs are planned as a loop, not per person);
  once the exact pickup is forgotten (backend/privacy), the distance it had.
- vehicle_m, volunteer_m: the planned km of the car the person rode in, divided among
  the people it picked up; volunteer_s: the driver's busy time for the run (leaving
  home until back), divided the same way.
- accept_delay_s: none (a seat is given when signing up or when one frees).
- village: the association's village nearest the pickup. The day is the local date of
  the run.
"""

from django.utils.translation import gettext_lazy as _

from backend.stats.sources import Source
from backend.stats.sources.common import NEAREST_VILLAGE, elderly

FACTS_SQL = f"""
SELECT
    ''::varchar AS kind,
    a.municipality_id,
    o.association_id,
    {NEAREST_VILLAGE.format(association="o.association_id", point="s.pickup")} AS village_id,
    (o.arrive_at AT TIME ZONE %(tz)s)::date AS day,
    s.passenger_id AS person_id,
    {elderly(birth_year="u.birth_year", moment="o.arrive_at")} AS elderly,
    u.is_managed AS managed,
    s.outcome = 'picked_up' AS fulfilled,
    (s.state <> 'cancelled' AND s.outcome = '' AND (o.state = 'cancelled'
        OR (s.state IN ('waitlisted', 'offered') AND o.leave_at < now()))) AS unfulfilled,
    (s.state = 'cancelled' AND o.state <> 'cancelled') AS cancelled,
    s.outcome = 'not_home' AS no_show,
    s.seats::integer AS passengers,
    COALESCE(v.plan_km * 1000 / GREATEST(car.picked_up, 1), 0)::bigint AS vehicle_m,
    (s.seats * 2 * COALESCE(s.pickup_to_shop_m, ST_Distance(s.pickup, sch.destination)))::bigint
        AS passenger_m,
    COALESCE(EXTRACT(EPOCH FROM upper(v.busy) - lower(v.busy)) / GREATEST(car.picked_up, 1),
        0)::bigint AS volunteer_s,
    COALESCE(v.plan_km * 1000 / GREATEST(car.picked_up, 1), 0)::bigint AS volunteer_m,
    0::bigint AS usage_s,
    NULL::integer AS accept_delay_s,
    ST_X(s.pickup::geometry) AS lon,
    ST_Y(s.pickup::geometry) AS lat
FROM shuttle_runsignup s
JOIN shuttle_runoccurrence o ON o.id = s.occurrence_id
JOIN shuttle_runschedule sch ON sch.id = o.schedule_id
JOIN community_association a ON a.id = o.association_id
JOIN accounts_user u ON u.id = s.passenger_id
LEFT JOIN shuttle_runvehicle v ON v.id = s.vehicle_id
LEFT JOIN LATERAL (
    SELECT count(*) AS picked_up FROM shuttle_runsignup p
    WHERE p.vehicle_id = s.vehicle_id AND p.outcome = 'picked_up'
) car ON s.vehicle_id IS NOT NULL
"""  # noqa: S608 - built from constant pieces only, no input

# Sign-ups have no change log: those made, cancelled or marked since then, runs created
# or moved since then, and every run around now (runs leave without touching sign-ups).
CHANGED_SQL = """
SELECT DISTINCT o.association_id, (o.arrive_at AT TIME ZONE %(tz)s)::date AS day
FROM shuttle_runoccurrence o
LEFT JOIN shuttle_runsignup s ON s.occurrence_id = o.id
WHERE s.created_at >= %(since)s OR s.cancelled_at >= %(since)s OR s.outcome_at >= %(since)s
    OR o.created_at >= %(since)s OR o.moved_at >= %(since)s
    OR o.leave_at BETWEEN %(since)s - interval '1 day' AND now() + interval '1 day'
"""

SOURCE = Source(
    service="shuttle", label=_("Shop runs"), facts_sql=FACTS_SQL, changed_sql=CHANGED_SQL
)
