"""Bookings for the statistics benchmark (`bench_stats.py`), generated in SQL.

Per municipality, over the year from `%(start)s`, after its riders and the temporary
table `bench_villages` (slot, village_id, association_id, lon, lat) exist:

- carpool: one trip per village and a half (driven by residents), departures spread
  evenly over the year (6 % cancelled, the rest completed), three seat bookings per
  departure (80 % confirmed, 8 % declined, 9 % cancelled by the passenger, 3 % by the
  driver; all cancelled when the departure was); 15 % book two seats;
- shared things: 24 resources (cars, tools, rooms; one in three each) at the villages,
  bookings of 1 to 48 hours over the year (80 % returned, 7 % declined, 13 % cancelled),
  cars with the km driven; 60 % decided by the owner, the rest booked at once.

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


def build_bookings(
    cursor, *, riders: list[int], count: int, village_count: int, start: str, center
) -> None:
    """`count` bookings: three fifths seat bookings on departures, two fifths loans."""
    seat_bookings = count * 3 // 5
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
    cursor.execute(LOANS_SQL, {**base, "resources": resources, "count": count - seat_bookings})
