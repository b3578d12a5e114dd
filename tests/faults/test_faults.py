"""Faults on the production layout (tests/faults/conftest.py): Redis down during a ride
request, a Celery worker killed mid-task, PostgreSQL restarted, a phone offline for a
long while. Each test ends with the stack healthy again for the next one."""

import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from celery import Celery

from tests.faults.live import LiveClient

pytestmark = [pytest.mark.faults, pytest.mark.slow]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
VANSBRO = {"type": "Point", "coordinates": [14.22458, 60.50893]}
DALA_JARNA = {"type": "Point", "coordinates": [14.36667, 60.53333]}


def ride_body(days_ahead: int) -> dict:
    """A ride at 10:00 some days ahead; each test books another day, so the drivers are
    free for it whatever an earlier test left them holding."""
    at = datetime.now(STOCKHOLM).replace(hour=10, minute=0, second=0, microsecond=0)
    return {
        "pickup": {"address": "Storgatan 1, Vansbro", "point": VANSBRO},
        "destination": {"address": "Vårdcentralen, Dala-Järna", "point": DALA_JARNA},
        "time": {"kind": "pickup_at", "at": (at + timedelta(days=days_ahead)).isoformat()},
    }


def clients_for(stack, people: list[dict]) -> list[LiveClient]:
    clients = [LiveClient(stack.layout.url, person["token"]) for person in people]
    for client in clients:
        client.start()
    for client in clients:
        client.wait_connected()
    return clients


def notification_ids(stack, user_id: int, *, after: int = 0) -> list[int]:
    rows = stack.sql(
        "select id from notifications_notification where recipient_id = %s and id > %s order by id",
        user_id,
        after,
    )
    return [row[0] for row in rows]


def max_notification_id(stack) -> int:
    return stack.sql("select coalesce(max(id), 0) from notifications_notification")[0][0]


def offers_of(stack, ride_id: int) -> list[tuple[int, int]]:
    return stack.sql(
        "select wave, driver_id from rides_offer where ride_id = %s order by wave, rank", ride_id
    )


def backdate_ride(stack, ride_id: int) -> None:
    """Let time pass for the beat sweep, which leaves requests alone for their first
    minute (the task queued on commit normally gets there first)."""
    stack.sql(
        "update rides_riderequest set created_at = created_at - interval '5 minutes' where id = %s",
        ride_id,
    )


def test_redis_down_during_a_ride_request_loses_and_duplicates_nothing(stack):
    world = stack.world
    people = [world["rider"], *world["drivers"]]
    before = max_notification_id(stack)
    clients = clients_for(stack, people)
    try:
        stack.redis.stop()

        # The request is saved and answered while Redis (cache, channel layer, broker) is
        # down: rate limits let it through, the live message and the queued tasks fail
        # quietly and are left to the replay and the sweeps.
        with stack.api(world["rider"]) as rider:
            response = rider.post("/rides/", json=ride_body(days_ahead=2))
        assert response.status_code == 201, response.text
        ride_id = response.json()["id"]
        assert stack.sql("select state from rides_riderequest where id = %s", ride_id) == [
            ("requested",)
        ]

        stack.redis.start()
        # Beat, a minute or two later: start dispatch of the request still waiting, and
        # queue the SMS that could not be queued.
        backdate_ride(stack, ride_id)
        stack.wait_until(
            lambda: (
                _try_beat(stack, "dispatch.tasks.dispatch_waiting_rides")
                and bool(offers_of(stack, ride_id))
            ),
            what="offers after Redis came back",
        )
        stack.sql(
            "update notifications_delivery set updated_at = now() - interval '1 hour'"
            " where status = 'pending'"
        )
        stack.beat("backend.notifications.tasks.requeue_stale_deliveries")
        stack.wait_until(
            lambda: (
                not stack.sql(
                    "select 1 from notifications_delivery d join notifications_notification n"
                    " on n.id = d.notification_id where n.id > %s and d.status = 'pending'"
                    " and d.channel <> 'live'",
                    before,
                )
            ),
            what="every SMS sent",
        )

        # Each phone got exactly what is in its inbox since the start, once, in order:
        # the rider's "booked" (sent while Redis was down) by replay on reconnect.
        for person, client in zip(people, clients, strict=True):
            expected = notification_ids(stack, person["id"], after=before)
            client.wait_for(lambda c, expected=expected: c.ids == expected)
        assert clients[0].received[0]["kind"] == "ride.requested"
        offered = [c for c in clients[1:] if any(m["kind"] == "ride.offered" for m in c.received)]
        assert len(offered) == 3
    finally:
        for client in clients:
            client.stop()

    # Nothing duplicated: one ride, one wave, one offer per driver, one SMS per message.
    assert stack.sql("select count(*) from rides_riderequest where id >= %s", ride_id) == [(1,)]
    waves = offers_of(stack, ride_id)
    assert [w for w, _ in waves] == [1, 1, 1]
    assert len({d for _, d in waves}) == 3
    sms = stack.sql(
        "select d.notification_id, count(*) filter (where a.succeeded) from"
        " notifications_delivery d join notifications_deliveryattempt a on a.delivery_id = d.id"
        " where d.channel = 'sms' and d.notification_id > %s group by d.notification_id",
        before,
    )
    assert sms and all(sent == 1 for _, sent in sms), sms


def _try_beat(stack, task: str) -> bool:
    """Queue the periodic task; False while the broker is not back yet."""
    try:
        stack.beat(task)
    except Exception:
        return False
    return True


def test_a_worker_killed_mid_task_runs_the_task_again_once_in_effect(stack):
    world, layout = stack.world, stack.layout
    # The worker is away while the ride is booked, so its dispatch task waits in Redis.
    layout.stop_process("worker1")
    with stack.api(world["rider"]) as rider:
        response = rider.post("/rides/", json=ride_body(days_ahead=3))
    assert response.status_code == 201, response.text
    ride_id = response.json()["id"]

    # Hold the ride's row: the task will block inside offer_wave, mid-transaction.
    holder = psycopg.connect(f"postgresql://postgres@127.0.0.1:{stack.pg.port}/samby")
    holder.execute("select 1 from rides_riderequest where id = %s for update", (ride_id,))
    try:
        layout.start_worker("worker1")
        layout.wait_worker_ready("worker1")
        stack.wait_until(
            lambda: _blocked_on_the_ride(stack),
            what="the dispatch task blocked on the ride",
        )
        child = _pool_child(layout.processes["worker1"].pid)
        subprocess.run(["kill", "-KILL", str(child)], check=True)
    finally:
        holder.rollback()
        holder.close()

    # The worker replaces its dead child and the message, never acknowledged, runs again.
    stack.wait_until(lambda: len(offers_of(stack, ride_id)) == 3, what="offers after the kill")
    time.sleep(2)  # a second run, were there one, would have sent another wave by now
    assert [w for w, _ in offers_of(stack, ride_id)] == [1, 1, 1]
    offered = stack.sql(
        "select recipient_id, count(*) from notifications_notification"
        " where kind = 'ride.offered' and (payload->>'ride')::int = %s group by recipient_id",
        ride_id,
    )
    assert sorted(count for _, count in offered) == [1, 1, 1]
    log = (layout.work / "worker1.log").read_text()
    assert "WorkerLostError" in log or "signal 9" in log


def test_a_whole_worker_killed_mid_task_hands_the_task_to_the_next_worker(stack):
    world, layout = stack.world, stack.layout
    layout.stop_process("worker1")
    with stack.api(world["rider"]) as rider:
        response = rider.post("/rides/", json=ride_body(days_ahead=4))
    assert response.status_code == 201, response.text
    ride_id = response.json()["id"]

    holder = psycopg.connect(f"postgresql://postgres@127.0.0.1:{stack.pg.port}/samby")
    holder.execute("select 1 from rides_riderequest where id = %s for update", (ride_id,))
    try:
        layout.start_worker("worker1")
        layout.wait_worker_ready("worker1")
        stack.wait_until(
            lambda: _blocked_on_the_ride(stack),
            what="the dispatch task blocked on the ride",
        )
        # The machine dies: the worker and its pool together, no time to say anything.
        process = layout.processes.pop("worker1")
        subprocess.run(["kill", "-KILL", "--", f"-{process.pid}"], check=True)
        process.wait(timeout=10)
    finally:
        holder.rollback()
        holder.close()
    assert offers_of(stack, ride_id) == []

    # Another worker takes the message once the visibility timeout (20 s here) has passed.
    layout.start_worker("worker1")
    layout.wait_worker_ready("worker1")
    stack.wait_until(lambda: len(offers_of(stack, ride_id)) == 3, what="offers after the kill")
    time.sleep(2)
    assert [w for w, _ in offers_of(stack, ride_id)] == [1, 1, 1]


def test_a_worker_killed_while_delivering_a_message_to_all_notifies_each_member_once(stack):
    world, layout = stack.world, stack.layout
    # The worker is away while the coordinator writes, so the delivery waits in Redis.
    layout.stop_process("worker1")
    text = "Handlarskjutsen är inställd i dag."
    with stack.api(world["coordinator"]) as coordinator:
        response = coordinator.post(
            f"/associations/{world['association']}/messages", json={"text": text}
        )
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["sent_to"] == 4  # the rider and the three drivers

    # Hold the message's row: the task will block on it, inside its transaction.
    holder = psycopg.connect(f"postgresql://postgres@127.0.0.1:{stack.pg.port}/samby")
    holder.execute(
        "select 1 from community_associationmessage where id = %s for update", (answer["id"],)
    )
    try:
        layout.start_worker("worker1")
        layout.wait_worker_ready("worker1")
        stack.wait_until(
            lambda: _blocked_on(stack, "community_associationmessage"),
            what="the delivery blocked on the message",
        )
        child = _pool_child(layout.processes["worker1"].pid)
        subprocess.run(["kill", "-KILL", str(child)], check=True)
    finally:
        holder.rollback()
        holder.close()

    def delivered() -> list[tuple]:
        return stack.sql(
            "select recipient_id, count(*) from notifications_notification"
            " where kind = 'association.message' and payload->>'text' = %s"
            " group by recipient_id order by recipient_id",
            text,
        )

    # The message, never acknowledged, runs again in the replacement child: once in effect.
    stack.wait_until(lambda: len(delivered()) == 4, what="the members notified after the kill")
    time.sleep(2)  # a second delivery, were there one, would have doubled them by now
    everyone = sorted([world["rider"]["id"], *(d["id"] for d in world["drivers"])])
    assert delivered() == [(person, 1) for person in everyone]
    assert stack.sql(
        "select delivered_to from community_associationmessage where id = %s", answer["id"]
    ) == [(4,)]


def _blocked_on(stack, table: str) -> bool:
    return bool(
        stack.sql(
            "select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike %s",
            f'%from "{table}"%',
        )
    )


def _blocked_on_the_ride(stack) -> bool:
    # (The text shown is cut at 1 kB, before the query's FOR UPDATE.)
    return bool(
        stack.sql(
            "select 1 from pg_stat_activity where wait_event_type = 'Lock'"
            " and query ilike '%%from \"rides_riderequest\"%%'"
        )
    )


def _pool_child(worker_pid: int) -> int:
    children = subprocess.run(
        ["pgrep", "-P", str(worker_pid)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(children) == 1, children  # --concurrency 1
    return int(children[0])


def test_the_app_recovers_from_a_postgresql_restart_without_a_restart_of_its_own(stack):
    world, layout = stack.world, stack.layout
    with stack.api(world["rider"]) as rider:
        assert rider.get("/auth/me").status_code == 200

        stack.pg.stop()
        try:
            # Within one pool timeout (DATABASE_POOL_TIMEOUT, 10 s) and some slack: the
            # balancer does not pass the 503 on to the other process to wait again.
            down = rider.get("/auth/me", timeout=25)
            assert down.status_code == 503
            assert down.json()["error"]["code"] == "service_unavailable"
            assert down.headers["retry-after"] == "30"
            # A resident's page says the same, in a page of its own.
            page = rider.get(
                f"{layout.url}/rides/",
                headers={"Cookie": f"sessionid={world['rider']['session']}"},
                timeout=25,
            )
            assert page.status_code == 503
            assert page.headers["retry-after"] == "30"
            assert "<h1>Samby is not available just now</h1>" in page.text
            assert "Samby cannot reach its database just now." in page.text
            health = rider.get(f"{layout.url}/healthz")
            assert health.status_code == 503
        finally:
            stack.pg.start()

        # Every web process answers again (round robin: ask a few times), and a request
        # that needs the worker goes through: the worker reconnected too.
        stack.wait_until(
            lambda: rider.get(f"{layout.url}/healthz").status_code == 200, what="healthy"
        )
        assert [rider.get("/auth/me").status_code for _ in range(6)] == [200] * 6
        for name, port in layout.web_ports.items():
            direct = rider.get(f"http://127.0.0.1:{port}/api/v1/auth/me")
            assert direct.status_code == 200, name
        response = rider.post("/rides/", json=ride_body(days_ahead=5))
        assert response.status_code == 201, response.text
    ride_id = response.json()["id"]
    stack.wait_until(lambda: len(offers_of(stack, ride_id)) == 3, what="dispatch after restart")
    assert all(p.poll() is None for p in layout.processes.values())


def test_a_phone_offline_for_a_long_while_gets_everything_on_reconnect(stack):
    world = stack.world
    rider = world["rider"]
    [client] = clients_for(stack, [rider])
    try:
        with stack.api(world["coordinator"]) as coordinator:

            def message(text: str) -> None:
                response = coordinator.post(
                    f"/associations/{world['association']}/messages", json={"text": text}
                )
                assert response.status_code == 202, response.text

            message("Före")
            client.wait_for(lambda c: [m["body"] for m in c.received][-1:] == ["Före"])
            seen = len(client.received)

            # Ten minutes without network: everything sent meanwhile waits in the inbox.
            client.go_offline()
            missed = [f"Medan du var borta {n}" for n in range(30)]
            for text in missed:
                message(text)
            assert client.received[seen:] == []

            # Back online: the app reconnects with ?since=<last id> (through the balancer,
            # likely to the other web process) and gets all of it, in order, once.
            client.go_online()
            client.wait_for(lambda c: len(c.received) >= seen + len(missed))
            message("Efter")
            client.wait_for(lambda c: c.received[-1]["body"] == "Efter")
    finally:
        client.stop()
    bodies = [m["body"] for m in client.received[seen:]]
    assert bodies == [*missed, "Efter"]
    assert not [i for i, n in Counter(client.ids).items() if n > 1]
    assert client.ids == notification_ids(stack, rider["id"], after=client.ids[0] - 1)
    assert client.connections >= 2
    # The server sent nothing twice but the replay's overlap: the recent ones the phone
    # had ("Före"), which the app drops.
    again = [i for i, n in Counter(m["id"] for m in client.frames).items() if n > 1]
    assert set(again) <= set(client.ids[:seen])


def test_the_worker_keeps_its_database_connection_from_task_to_task(stack):
    """Celery's Django fix-up closes the connections, and the pool with them, around
    every task unless told otherwise: each task then started a PostgreSQL server
    process of its own, which loads its caches and PostGIS anew (tens of ms of database
    CPU a dispatch). The worker hands its connection back to its pool instead."""
    results = Celery("faults-results", broker=stack.redis.url, backend=stack.redis.url)

    def run_tasks(count: int) -> None:
        for _ in range(count):
            task = results.send_task("dispatch.tasks.dispatch_waiting_rides")
            assert isinstance(task.get(timeout=30), int)

    def worker_connections() -> set[tuple]:
        return set(
            stack.sql(
                "select pid, backend_start from pg_stat_activity where application_name = %s",
                "samby-worker1",
            )
        )

    run_tasks(2)  # the worker's pool opens (again, after the restart above)
    kept = worker_connections()
    run_tasks(8)
    assert kept  # the multi-process layout names each process's connections
    assert worker_connections() == kept
    results.close()


def test_the_layout_is_still_whole_after_the_faults(stack):
    """None of the faults above needed a restart of a web process or the balancer."""
    layout = stack.layout
    assert [n for n, p in layout.processes.items() if p.poll() is not None] == []
    for name in ("web1", "web2", "balancer"):
        assert layout.processes[name].pid == stack.first_pids[name]
