"""Bookings for the statistics benchmark (`bench_stats.py`), generated in SQL.

Per municipality, over the year from `%(start)s`, after its riders and the temporary
table `bench_villages` (slot, village_id, association_id, lon, lat) exist:

- carpool: one trip per village and a half (driven by residents), departures spread
  evenly over the year (6 % cancelled, the rest completed), three seat bookings per
  departure (80 % confirmed, 8 % declined, 9 % cancelled by the passenger, 3 % by the
  driver; all cancelled when the departure was); 15 % book two seats;
- shared things: 24 resources (cars, tools, rooms; one in three each) at the villages,
  bookings of 1 to 48 hours over the year (80 % returned, 7 % declined, 13 % cancelled),
  cars with the km driven; 60 % decided by the owner, the rest booked at once;
- shop runs: one schedule per village (twice a week to the shop in the centre, at the
  shop 10:00 to 11:30), its runs spread evenly over the year (3 % cancelled, the rest
  done), two cars each (driven by two of the association's drivers, 20 to 60 planned
  km), eight sign-ups per run by eight residents of the village (78 % picked up, 5 %
  not home, 10 % cancelled, 7 % still on the waitlist when the run left; one in ten
  for two seats).

Of `count` bookings, 48 % are carpool seat bookings, 32 % loans and 20 % shop-run
sign-ups.

All bookings are over, so none holds a period and the no-overlap constraint of shared
bookings (on holding statuses only) does not apply.
"""

TRIPS_SQL = """
INSERT INTO carpool_trip (driver_id, association_id, origin, origin_address, origin_village_id,
    destination, destination_address, destination_village_id, via, route, distance_m,
    duration_s, first_departure, rrule, seats, price_ore, max_price_ore, instant_booking,
    pets_allowed, luggage, smoking_allowed, note, created_at, cancelled_at, materialised_until)
SELECT drivers[1 + (n * 7) %% array_length(drivers, 1)], v.association_id,
    ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326)::geography, '', v.village_id,
    ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography, '', NULL, NULL,
    ST_SetSRID(ST_MakeLine(ST_MakePoint(v.lon, v.lat), ST_MakePoint(%(lon)s, %(lat)s)),
        4326)::geography,
    dist, dist / 15, timestamptz %(start)s, 'FREQ=DAILY', 4, 3000, 6000, n %% 3 = 0,
    false, 'small', false, '', timestamptz %(start)s, NULL, NULL
FROM (
    SELECT n, %(riders)s::bigint[] AS drivers, 10000 + (random() * 50000)::int AS dist
    FROM generate_series(1, %(trips)s) n
) g
JOIN bench_villages v ON v.slot = g.n %% %(village_count)s
RETURNING id
"""

# Departures evenly spaced over the year: distinct times, so (trip, departure) is unique.
DEPARTURES_SQL = """
INSERT INTO carpool_tripoccurrence (trip_id, departure_at, span, route, seats_total,
    seats_taken, status, cancel_reason)
SELECT t.id, g.at, tstzrange(g.at, g.at + make_interval(secs => t.duration_s)), t.route, 4, 0,
    CASE WHEN random() < 0.06 THEN 'cancelled' ELSE 'completed' END, ''
FROM (
    SELECT n, (%(trips)s::bigint[])[1 + n %% array_length(%(trips)s::bigint[], 1)] AS trip_id,
        timestamptz %(start)s + make_interval(secs => n * (31536000 / %(count)s)) AS at
    FROM generate_series(0, %(count)s - 1) n
) g
JOIN carpool_trip t ON t.id = g.trip_id
"""

# Three bookings per departure, by three different passengers (one open booking each).
SEAT_BOOKINGS_SQL = """
INSERT INTO carpool_booking (occurrence_id, passenger_id, booked_by_id, seats, pickup,
    pickup_address, dropoff, dropoff_address, pickup_fraction, dropoff_fraction, pickup_at,
    dropoff_at, walk_m, detour_m, price_ore, message, state, cancelled_by, reason, created_at,
    answered_at, closed_at)
SELECT o.id, p.passenger, p.passenger, g.seats,
    ST_LineInterpolatePoint(o.route::geometry, g.pf)::geography, '',
    ST_LineInterpolatePoint(o.route::geometry, g.df)::geography, '', g.pf, g.df,
    o.departure_at + make_interval(secs => g.pf * t.duration_s),
    o.departure_at + make_interval(secs => g.df * t.duration_s), 0, 0, 3000 * g.seats, '',
    s.state, s.cancelled_by, '', g.made,
    CASE WHEN s.state IN ('confirmed', 'declined')
        THEN g.made + make_interval(mins => CASE WHEN t.instant_booking THEN 0 ELSE g.wait END)
    END,
    CASE WHEN s.state = 'cancelled' THEN g.made + interval '1 day'
         ELSE o.departure_at + make_interval(secs => t.duration_s) END
FROM (
    SELECT o.id AS occurrence_id, dense_rank() OVER (ORDER BY o.id) AS rn, k, random() AS r,
        1 + (random() < 0.15)::int AS seats, random() * 0.4 AS pf, 0.6 + random() * 0.4 AS df,
        o.departure_at - make_interval(hours => 2 + (random() * 160)::int) AS made,
        (random() * 600)::int AS wait
    FROM carpool_tripoccurrence o CROSS JOIN generate_series(0, 2) k
    WHERE o.trip_id = ANY(%(trips)s)
) g
JOIN carpool_tripoccurrence o ON o.id = g.occurrence_id
JOIN carpool_trip t ON t.id = o.trip_id
CROSS JOIN LATERAL (
    SELECT (g.rn * 3 + g.k + t.driver_id) %% array_length(%(riders)s::bigint[], 1) AS slot
) i
-- The driver is not their own passenger: the rider three places on (not in this trio).
CROSS JOIN LATERAL (
    SELECT CASE WHEN (%(riders)s::bigint[])[1 + i.slot] = t.driver_id
        THEN (%(riders)s::bigint[])[1 + (i.slot + 3) %% array_length(%(riders)s::bigint[], 1)]
        ELSE (%(riders)s::bigint[])[1 + i.slot] END AS passenger
) p
CROSS JOIN LATERAL (
    SELECT CASE WHEN o.status = 'cancelled' THEN 'cancelled'
                WHEN g.r < 0.80 THEN 'confirmed' WHEN g.r < 0.88 THEN 'declined'
                ELSE 'cancelled' END AS state,
           CASE WHEN o.status = 'cancelled' OR g.r >= 0.97 THEN 'driver'
                WHEN g.r >= 0.88 THEN 'passenger' ELSE '' END AS cancelled_by
) s
"""

RESOURCES_SQL = """
INSERT INTO sharing_resource (association_id, owner_id, kind, category, title, description,
    location, pickup_instructions, rules, deposit_ore, price_per_hour_ore, price_per_day_ore,
    price_per_km_ore, approval_mode, requires_clearance, min_minutes, max_minutes,
    buffer_minutes, active, out_of_service, seats, fuel, odometer_km, key_location, created_at)
SELECT v.association_id, NULL, kind, kind, 'Bench ' || kind || ' ' || n, '',
    ST_SetSRID(ST_MakePoint(v.lon + 0.01, v.lat), 4326)::geography, '', '', 0, 2000, 20000,
    CASE WHEN kind = 'car' THEN 250 ELSE 0 END,
    CASE WHEN n %% 5 < 3 THEN 'owner' ELSE 'automatic' END, false, 60, 7 * 24 * 60, 0, true,
    false, CASE WHEN kind = 'car' THEN 5 END, CASE WHEN kind = 'car' THEN 'petrol' ELSE '' END,
    CASE WHEN kind = 'car' THEN 50000 END, '', timestamptz %(start)s
FROM (
    SELECT n, (ARRAY['car', 'tool', 'room'])[1 + n %% 3] AS kind
    FROM generate_series(0, 23) n
) g
JOIN bench_villages v ON v.slot = g.n %% %(village_count)s
RETURNING id
"""

LOANS_SQL = """
INSERT INTO sharing_booking (resource_id, booker_id, booked_by_id, starts_at, ends_at,
    blocked_until, status, note, estimated_cost_ore, created_at, decided_by_id, decided_at,
    reason, checked_out_at, returned_at, odometer_out, odometer_in, odometer_flag,
    condition_out, condition_in, km_driven, cost_ore)
SELECT r.id, g.booker, g.booker, g.at, g.at + g.length, g.at + g.length, s.status, '', 0,
    g.made, NULL,
    CASE WHEN r.approval_mode = 'owner' AND s.status <> 'cancelled'
        THEN g.made + make_interval(mins => g.wait) END,
    '',
    CASE WHEN s.status = 'returned' THEN g.at END,
    CASE WHEN s.status = 'returned' THEN g.at + g.length END,
    CASE WHEN s.status = 'returned' AND r.kind = 'car' THEN 50000 END,
    CASE WHEN s.status = 'returned' AND r.kind = 'car' THEN 50000 + g.km END,
    '', '', '',
    CASE WHEN s.status = 'returned' AND r.kind = 'car' THEN g.km END,
    CASE WHEN s.status = 'returned' THEN 0 END
FROM (
    SELECT n, random() AS r,
        (%(resources)s::bigint[])[1 + n %% array_length(%(resources)s::bigint[], 1)] AS resource,
        (%(riders)s::bigint[])[1 + (random() * 1000000)::int %%
            array_length(%(riders)s::bigint[], 1)] AS booker,
        timestamptz %(start)s + make_interval(mins => (random() * 525600)::int) AS at,
        make_interval(hours => 1 + (random() * 47)::int) AS length,
        10 + (random() * 190)::int AS km, (random() * 720)::int AS wait
    FROM generate_series(1, %(count)s) n
) g0
CROSS JOIN LATERAL (SELECT g0.*, g0.at - interval '3 days' AS made) g
JOIN sharing_resource r ON r.id = g.resource
CROSS JOIN LATERAL (
    SELECT CASE WHEN g.r < 0.80 THEN 'returned' WHEN g.r < 0.87 THEN 'declined'
        ELSE 'cancelled' END AS status
) s
"""


SCHEDULES_SQL = """
INSERT INTO shuttle_runschedule (association_id, name, rrule, starts_on, ends_on, arrive_at,
    leave_at, destination, destination_name, seats_per_vehicle, max_vehicles, deadline_days,
    deadline_time, active, created_at, created_by_id)
SELECT v.association_id, 'Handla ' || v.slot, 'FREQ=WEEKLY;BYDAY=TU,FR',
    left(%(start)s, 10)::date, NULL, time '10:00', time '11:30',
    ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography, 'Bench shop', 5, 2, 1,
    time '18:00', true, timestamptz %(start)s, NULL
FROM bench_villages v ORDER BY v.slot
RETURNING id
"""

# Runs evenly spread over the year, the schedules in turn: (schedule, day) is unique.
RUNS_SQL = """
INSERT INTO shuttle_runoccurrence (schedule_id, association_id, rule_date, arrive_at,
    leave_at, signup_deadline, capacity, seats_taken, state, state_reason, moved_at,
    plan_stale, plan_version, planned_at, plan_km, plan_problem, created_at)
SELECT sch.id, sch.association_id, g.day,
    (g.day + time '10:00') AT TIME ZONE %(tz)s, (g.day + time '11:30') AT TIME ZONE %(tz)s,
    (g.day - 1 + time '18:00') AT TIME ZONE %(tz)s, 10, 0,
    CASE WHEN random() < 0.03 THEN 'cancelled' ELSE 'done' END, '', NULL, false, 0,
    (g.day - 1 + time '18:00') AT TIME ZONE %(tz)s, NULL, '', timestamptz %(start)s
FROM (
    SELECT n, (%(schedules)s::bigint[])[1 + n %% %(schedule_count)s] AS schedule_id,
        left(%(start)s, 10)::date
            + ((n / %(schedule_count)s) * 365 / %(per_schedule)s)::int AS day
    FROM generate_series(0, %(count)s - 1) n
) g
JOIN shuttle_runschedule sch ON sch.id = g.schedule_id
"""

# Two cars per run that took place; the association's drivers take turns by village, so
# no driver is in two cars at once (runs of one day are at the same time).
RUN_CARS_SQL = """
INSERT INTO shuttle_runvehicle (occurrence_id, driver_id, seats, busy, created_at, plan_km,
    assigned_by_id)
SELECT o.id, d.drivers[1 + ((v.slot / 3) * 2 + car) %% array_length(d.drivers, 1)], 5,
    tstzrange(o.arrive_at - interval '1 hour', o.leave_at + interval '1 hour'),
    o.created_at, 20 + round((random() * 40)::numeric, 1), NULL
FROM shuttle_runoccurrence o
JOIN shuttle_runschedule sch ON sch.id = o.schedule_id
JOIN bench_villages v ON v.slot = substring(sch.name FROM 8)::int
JOIN (
    SELECT association_id, array_agg(driver ORDER BY driver) AS drivers
    FROM unnest(%(drivers)s::bigint[], %(driver_associations)s::bigint[]) x(driver, association_id)
    GROUP BY association_id
) d ON d.association_id = o.association_id
CROSS JOIN generate_series(0, 1) car
WHERE o.schedule_id = ANY(%(schedules)s) AND o.state = 'done'
"""

# Eight sign-ups per run by eight different residents of the schedule's village.
SIGNUPS_SQL = """
INSERT INTO shuttle_runsignup (occurrence_id, passenger_id, signed_up_by_id, standing_id,
    pickup, pickup_address, needs, note, seats, state, offer_expires_at, created_at,
    cancelled_at, vehicle_id, car_number, stop_order, estimated_pickup, outcome, outcome_at)
SELECT o.id, p.passenger, p.passenger, NULL,
    ST_SetSRID(ST_MakePoint(v.lon + (random() - 0.5) * 0.04, v.lat + (random() - 0.5) * 0.02),
        4326)::geography, '', '{}', '', 1 + (random() < 0.1)::int,
    CASE WHEN o.state = 'cancelled' OR g.r < 0.83 THEN 'confirmed'
         WHEN g.r < 0.93 THEN 'cancelled' ELSE 'waitlisted' END,
    NULL, o.arrive_at - interval '3 days',
    CASE WHEN o.state <> 'cancelled' AND g.r >= 0.83 AND g.r < 0.93
        THEN o.arrive_at - interval '1 day' END,
    car.id, car.n, CASE WHEN car.id IS NOT NULL THEN 1 + g.k / 2 END, NULL,
    CASE WHEN o.state = 'cancelled' THEN '' WHEN g.r < 0.78 THEN 'picked_up'
         WHEN g.r < 0.83 THEN 'not_home' ELSE '' END,
    CASE WHEN o.state <> 'cancelled' AND g.r < 0.83 THEN o.arrive_at - interval '30 minutes' END
FROM (
    SELECT o.id AS occurrence_id, dense_rank() OVER (ORDER BY o.id) AS rn, k, random() AS r
    FROM shuttle_runoccurrence o CROSS JOIN generate_series(0, 7) k
    WHERE o.schedule_id = ANY(%(schedules)s)
) g
JOIN shuttle_runoccurrence o ON o.id = g.occurrence_id
JOIN shuttle_runschedule sch ON sch.id = o.schedule_id
JOIN bench_villages v ON v.slot = substring(sch.name FROM 8)::int
-- A rider lives in the village of slot (rider id mod the villages), as in the rides.
JOIN (
    SELECT r %% %(village_count)s AS slot, array_agg(r ORDER BY r) AS residents
    FROM unnest(%(riders)s::bigint[]) r GROUP BY 1
) res ON res.slot = v.slot
CROSS JOIN LATERAL (
    SELECT res.residents[1 + (g.rn * 8 + g.k) %% array_length(res.residents, 1)] AS passenger
) p
LEFT JOIN LATERAL (
    SELECT c.id, row_number() OVER (ORDER BY c.id) AS n FROM shuttle_runvehicle c
    WHERE c.occurrence_id = o.id ORDER BY c.id OFFSET g.k %% 2 LIMIT 1
) car ON o.state = 'done' AND g.r < 0.83
"""


def build_bookings(
    cursor,
    *,
    riders: list[int],
    drivers: list[tuple[int, int]],
    count: int,
    village_count: int,
    start: str,
    center,
) -> None:
    """`count` bookings: 48 % seat bookings on departures, 32 % loans, 20 % shop-run
    sign-ups. `drivers` are (driver profile, association)."""
    seat_bookings = count * 12 // 25
    loans = count * 8 // 25
    signups = count - seat_bookings - loans
    base = {"riders": riders, "village_count": village_count, "start": start}
    cursor.execute(
        TRIPS_SQL,
        {**base, "trips": village_count * 3 // 2, "lon": center[0], "lat": center[1]},
    )
    trips = [row[0] for row in cursor.fetchall()]
    cursor.execute(DEPARTURES_SQL, {**base, "trips": trips, "count": -(-seat_bookings // 3)})
    cursor.execute(SEAT_BOOKINGS_SQL, {**base, "trips": trips})
    cursor.execute(RESOURCES_SQL, base)
    resources = [row[0] for row in cursor.fetchall()]
    cursor.execute(LOANS_SQL, {**base, "resources": resources, "count": loans})
    cursor.execute(SCHEDULES_SQL, {**base, "lon": center[0], "lat": center[1]})
    schedules = [row[0] for row in cursor.fetchall()]
    runs = -(-signups // 8)
    cursor.execute(
        RUNS_SQL,
        {
            **base,
            "tz": "Europe/Stockholm",
            "schedules": schedules,
            "schedule_count": len(schedules),
            "per_schedule": -(-runs // len(schedules)),
            "count": runs,
        },
    )
    cursor.execute(
        RUN_CARS_SQL,
        {
            **base,
            "schedules": schedules,
            "drivers": [driver for driver, _association in drivers],
            "driver_associations": [association for _driver, association in drivers],
        },
    )
    cursor.execute(SIGNUPS_SQL, {**base, "schedules": schedules})
