"""Erasing a person takes their name out of the messages others have: the driver's seat
request, the coordinators' request to join, the relative's copy of a sign-up, the
coordinators' shop run problem, and a reminder not yet sent. Someone else of the same
name keeps theirs, and a message stored while the erasure runs cannot slip past it."""

import datetime
import json

import pytest
from django.contrib.gis.geos import Point
from django.db import transaction
from django.test import Client
from django.utils import timezone

from backend.accounts.models import ProxyLink
from backend.carpool import services as carpool_services
from backend.community.models import Role
from backend.community.services import membership_request
from backend.notifications.kinds import get_kind, render
from backend.notifications.models import Notification, Reminder
from backend.notifications.names import PersonName
from backend.notifications.reminders import reminder_schedule, reminders_send_due
from backend.notifications.services import notify
from backend.shuttle.models import RunSignup
from backend.shuttle.services import vehicle_add
from dispatch import carpool, shop_runs
from dispatch.privacy import person_erase
from tests.factories import next_weekday_at
from tests.locks import Beside, sessions_waiting_on_a_lock
from tests.privacy_world import EAST, WEST
from tests.shuttle_world import HOMES, make_world, person

pytestmark = pytest.mark.django_db

ANNA = "Anna Svensson"


def body(notification: Notification, language: str = "en") -> str:
    return render(get_kind(notification.kind), notification.payload, language)[1]


def naming_anna() -> list[Notification]:
    """Every message whose stored payload has the name in it, in anyone's inbox."""
    return [
        n
        for n in Notification.objects.order_by("pk")
        if ANNA in json.dumps(n.payload, ensure_ascii=False)
    ]


@pytest.fixture
def world(settings):
    """Anna, a resident her daughter Lena helps, has asked for a seat on Erik's trip and
    to join a second association, and Lena signed her up for a shop run that cannot be
    planned around her wheelchair. A second Anna Svensson asked to join too."""
    settings.ROUTER_URL = ""
    shop = make_world()
    anna = person(ANNA, "+46701741234", shop.association, home=HOMES[2])
    lena, erik, karin = shop.daughter, shop.driver_user(0), shop.coordinator
    ProxyLink.objects.create(
        proxy=lena, resident=anna, relationship="dotter", accepted_at=timezone.now()
    )
    erik.preferred_language = "en"
    erik.save(update_fields=["preferred_language"])
    olle = person("Olle Nilsson", "+46701741300", shop.other_association, [Role.COORDINATOR])
    namesake = person(ANNA, "+46701741235")

    trip = carpool.trip_publish(
        driver=erik,
        origin=WEST,
        origin_address="Eriks väg 1",
        destination=EAST,
        destination_address="Torget 2",
        first_departure=next_weekday_at(0, 7, 0) + datetime.timedelta(days=7),
        seats=3,
        instant_booking=False,
    )
    carpool_services.booking_request(
        actor=lena,
        passenger=anna,
        occurrence=trip.occurrences.order_by("departure_at").first(),
        pickup=Point(14.20, 60.521, srid=4326),
        pickup_address="Annas väg 1",
        dropoff=Point(14.35, 60.521, srid=4326),
        dropoff_address="Vårdcentralen",
    )
    membership_request(user=anna, association=shop.other_association)
    membership_request(user=namesake, association=shop.other_association)

    signup = shop_runs.signup_submit(actor=lena, occurrence=shop.occurrence, passenger=anna)
    RunSignup.objects.filter(pk=signup.pk).update(needs=["wheelchair"])
    vehicle_add(
        occurrence=shop.occurrence, driver=shop.drivers[0], actor=karin, by_coordinator=True
    )
    assert ANNA in shop_runs.occurrence_plan(occurrence_id=shop.occurrence.pk, force=True).problem
    # No reminder names anyone yet; one that did would be found all the same.
    reminder_schedule(
        key="test:anna",
        recipient=lena,
        kind="shuttle.signed_up",
        payload={"name": PersonName.of(anna), "when": "2026-12-10 10:00"},
        due_at=timezone.now() + datetime.timedelta(days=2),
    )
    return {
        "shop": shop,
        "anna": anna,
        "namesake": namesake,
        "lena": lena,
        "erik": erik,
        "karin": karin,
        "olle": olle,
    }


def test_erasing_a_person_takes_their_name_out_of_everyone_elses_messages(world):
    anna, namesake = world["anna"], world["namesake"]
    erik, lena, karin, olle = world["erik"], world["lena"], world["karin"], world["olle"]
    asked = Notification.objects.get(recipient=erik, kind="carpool.booking_requested")
    copy = Notification.objects.get(recipient=lena, kind="shuttle.signed_up")
    problem = Notification.objects.get(recipient=karin, kind="shuttle.plan_problem")
    joins = list(Notification.objects.filter(recipient=olle, kind="membership.requested"))
    assert [j.payload["person"] for j in joins] == [ANNA, ANNA]
    assert [j.named for j in joins] == [{str(anna.pk): ["person"]}, {str(namesake.pk): ["person"]}]
    assert body(asked).startswith(f"{ANNA} asks for 1 seat ")
    assert ANNA in body(problem)

    person_erase(user=anna, actor=lena)

    # The fields still say whose name they show: Anna's, now the placeholder.
    asked.refresh_from_db()
    assert (asked.payload["passenger"], asked.named) == ("—", {str(anna.pk): ["passenger"]})
    assert body(asked).startswith("— asks for 1 seat ")
    copy.refresh_from_db()
    assert (copy.payload["name"], copy.named) == ("—", {str(anna.pk): ["name"]})
    assert body(copy, "sv").startswith("— har en plats i handlarskjutsen ")
    problem.refresh_from_db()
    assert list(problem.named) == [str(anna.pk)]
    assert ANNA not in json.dumps(problem.payload, ensure_ascii=False)
    assert body(problem).endswith(
        ": — needs a car that takes a wheelchair, and no car on the run does."
    )
    reminder = Reminder.objects.get(key="test:anna")
    assert reminder.payload == {"name": "—", "when": "2026-12-10 10:00"}
    # The second Anna Svensson keeps her name; hers is now the only message with it.
    mine, hers = (Notification.objects.get(pk=j.pk) for j in joins)
    assert (mine.payload["person"], mine.named) == ("—", {str(anna.pk): ["person"]})
    assert (hers.payload["person"], hers.named) == (ANNA, {str(namesake.pk): ["person"]})
    assert naming_anna() == [hers]
    # The reminder, once due, is sent with the placeholder.
    assert reminders_send_due(now=timezone.now() + datetime.timedelta(days=3)) == 1
    sent = Reminder.objects.get(key="test:anna").notification
    assert (sent.payload["name"], sent.named) == ("—", {str(anna.pk): ["name"]})


def test_the_inbox_shows_the_placeholder_in_english_and_swedish(world, api_as):
    erik, olle = world["erik"], world["olle"]
    person_erase(user=world["anna"], actor=world["anna"])

    listed = api_as(erik).get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="en")
    assert listed.status_code == 200
    [asked] = [n for n in listed.json()["results"] if n["kind"] == "carpool.booking_requested"]
    assert (asked["title"], asked["payload"]["passenger"]) == ("Seat request", "—")
    assert asked["body"].startswith("— asks for 1 seat ")

    olle.preferred_language = "sv"
    olle.save(update_fields=["preferred_language"])
    client = Client()
    client.force_login(olle)
    page = client.get("/notifications/")
    assert page.status_code == 200
    text = page.content.decode()
    association = world["shop"].other_association.name
    assert text.count(f"<p>— vill gå med i {association} som medlem.") == 1
    assert text.count(f"<p>{ANNA} vill gå med i {association} som medlem.") == 1  # the namesake


@pytest.mark.django_db(transaction=True)
def test_a_message_stored_while_the_person_is_erased_does_not_keep_the_name(world):
    """The name was read before the erasure began (a request under way): storing the
    message waits for the erasure to commit and then shows the placeholder."""
    anna, erik = world["anna"], world["erik"]
    name = PersonName.of(anna)  # read before the erasure
    payload = {"passenger": name, "seats": 1, "when": "2026-12-10 10:00", "place": "Torget"}

    with transaction.atomic():
        person_erase(user=anna, actor=anna)
        late = Beside(lambda: notify(erik, "carpool.booked", payload).pk)
        assert not late.done_within(1.0)  # waits for the erasure's lock on Anna's row
        assert sessions_waiting_on_a_lock() == 1
    stored = Notification.objects.get(pk=late.result())
    assert (stored.kind, stored.payload["passenger"]) == ("carpool.booked", "—")
    assert stored.named == {str(anna.pk): ["passenger"]}
    assert [n.recipient for n in naming_anna()] == [world["olle"]]  # the namesake's request


@pytest.mark.django_db(transaction=True)
def test_an_erasure_that_tells_the_person_of_their_own_calling_off_commits_cleanly(world):
    """Calling off Anna's sign-up tells her and Lena; her own message goes with her inbox
    before the commit, and the live delivery of Lena's is still recorded after it."""
    anna, lena = world["anna"], world["lena"]
    person_erase(user=anna, actor=lena)  # raised IntegrityError after the commit before
    cancelled = Notification.objects.get(recipient=lena, kind="shuttle.signup_cancelled")
    live = cancelled.deliveries.get(channel="live")
    assert (live.status, live.attempts, live.attempt_log.count()) == ("sent", 1, 1)
    assert not Notification.objects.filter(recipient=anna).exists()
