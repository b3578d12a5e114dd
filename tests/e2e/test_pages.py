"""Every page of the web app, in Swedish at a phone's size: no WCAG 2.1 A/AA violations
that axe-core finds, under the weight budget (bytes transferred on a first visit, map
tiles excluded), and a screenshot for the documentation."""

import datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from backend.accounts.email_confirmation import email_link_token
from backend.accounts.email_sign_in import sign_in_link_path
from backend.carpool.models import OccurrenceStatus, TripOccurrence
from backend.carpool.services import booking_request, saved_search_create
from backend.community.models import Role
from backend.community.services import proxy_link_create
from backend.notifications.names import PersonName
from backend.notifications.services import notify
from backend.sharing.models import ApprovalMode
from backend.sharing.services import booking_request as sharing_request
from backend.sharing.services import person_feed_get_or_create
from backend.shuttle.services import schedule_create, signup_create
from tests.e2e.conftest import PAGE_BUDGET, SCREENSHOTS, Transfer, check_axe, off_loop, screenshot
from tests.factories import UserFactory, next_weekday_at
from tests.shuttle_world import HOMES, SHOP, WEEKDAYS, run_day
from tests.webapp.carpool_world import DROPOFF, PICKUP, publish, search_query
from tests.webapp.conftest import World, build_world
from tests.webapp.conftest import person as member
from tests.webapp.sharing_world import add_sharing_with_bookings, tomorrow_at

pytestmark = pytest.mark.e2e

PAGES = [
    # (who, path, screenshot name)
    (None, "/sign-in", "sign-in"),
    (None, "/sign-in/code", "sign-in-code"),
    (None, "/join", "join"),
    (None, "/sign-in/email", "sign-in-email"),
    (None, "{sign_in_link}", "sign-in-email-link"),
    (None, "/offline", "offline"),
    (None, "/erased", "erased"),
    ("rider", "/", "home"),
    ("rider", "/rides/new", "ride-request"),
    ("rider", "/rides/{held}/", "ride-follow"),
    ("rider", "/rides/{held}/cancel", "ride-cancel-question"),
    ("rider", "/rides/", "my-rides"),
    ("rider", "/notifications/", "notifications"),
    ("rider", "/notifications/choices", "notification-choices"),
    ("rider", "/profile/", "profile"),
    ("rider", "/profile/erase", "erase"),
    ("rider", "/profile/password", "password-change"),
    ("rider", "/associations/", "associations"),
    ("analyst", "/associations/", "associations-not-member"),
    ("unconfirmed", "/profile/", "profile-phone-unconfirmed"),
    ("unconfirmed", "/profile/phone", "phone-confirm"),
    ("email_unconfirmed", "/profile/", "profile-email-unconfirmed"),
    (None, "/email/{email_link}", "email-confirm"),
    (None, "/email/{email_link_confirmed}", "email-confirmed"),
    ("proxy", "/profile/", "profile-asked-to-help"),
    ("other_resident", "/profile/", "profile-waiting-for-helper"),
    ("proxy", "/rides/new", "ride-request-proxy"),
    ("offered_driver", "/driver/", "driver-offers"),
    ("holding_driver", "/driver/", "driver-home"),
    ("holding_driver", "/driver/rides/{held}/", "driver-ride"),
    ("holding_driver", "/driver/availability", "driver-availability"),
    ("holding_driver", "/driver/km", "driver-km"),
    ("holding_driver", "/driver/profile", "driver-profile"),
    ("other_resident", "/driver/", "not-a-driver"),
    ("new_driver", "/driver/profile", "driver-setup"),
    # Carpooling and shop runs
    ("rider", "/carpool/", "carpool-find"),
    ("rider", "/carpool/?{search}", "carpool-results"),
    ("proxy", "/carpool/?{search}", "carpool-results-proxy"),
    ("rider", "/carpool/bookings", "carpool-bookings"),
    ("holding_driver", "/carpool/offer", "carpool-offer"),
    ("holding_driver", "/carpool/trips", "carpool-trips"),
    ("holding_driver", "/carpool/trips/{trip}/edit", "carpool-trip-edit"),
    ("holding_driver", "/carpool/departures/{departure}/move", "carpool-departure-move"),
    ("rider", "/carpool/alerts", "carpool-alerts"),
    ("rider", "/carpool/bookings/{ridden}/after", "carpool-after-trip"),
    ("analyst", "/carpool/", "carpool-not-member"),
    ("rider", "/shop-runs/", "shop-runs"),
    ("rider", "/shop-runs/{run}/sign-up", "shop-run-signup"),
    ("proxy", "/shop-runs/{run}/sign-up", "shop-run-signup-proxy"),
    # Shared cars, tools and rooms
    ("rider", "/sharing/", "sharing-browse"),
    ("rider", "/sharing/{car}/", "sharing-resource"),
    ("proxy", "/sharing/{car}/", "sharing-resource-proxy"),
    ("rider", "/sharing/bookings", "sharing-bookings"),
]


@pytest.fixture
def world(live) -> World:
    made = build_world()
    rider = made.people["rider"]
    for kind, payload in [
        ("ride.requested", {"when": "2026-12-01 10:00"}),
        (
            "ride.accepted",
            {
                "driver": PersonName.of(made.people["holding_driver"]),
                "car": "Grå Volvo",
                "when": "2026-12-01 10:00",
            },
        ),
    ]:
        off_loop(notify, recipient=rider, kind=kind, payload=payload)
    off_loop(carpool_and_shop_runs, world=made)
    # Johan has asked Lena to help him too; she has not answered.
    johan = made.people["other_resident"]
    off_loop(
        proxy_link_create,
        actor=johan,
        resident=johan,
        proxy=made.people["proxy"],
        invited_as="070-174 06 30",
    )
    off_loop(add_sharing_with_bookings, world=made)
    # Lena has asked for her calendar address: her profile shows it (Anna's does not).
    off_loop(person_feed_get_or_create, user=made.people["proxy"])
    # Someone who joined with her number and has not entered the code yet.
    made.people["unconfirmed"] = UserFactory(
        full_name="Lena Lund", phone="+46701740677", phone_confirmed_at=None
    )
    # Someone who gave an e-mail address and has not opened the link yet; someone who has.
    made.people["email_unconfirmed"] = UserFactory(
        full_name="Nils Nyman", email="nils.nyman@example.se", email_confirmed_at=None
    )
    made.people["email_confirmed"] = UserFactory(full_name="Ulla Nyman", email="ulla@example.se")
    # Made a volunteer driver, not set up yet: driver mode starts with the first setup.
    made.people["new_driver"] = member("Gun Sjöberg", "+46701740678", made.a, [Role.DRIVER])
    return made


def carpool_and_shop_runs(world: World) -> None:
    """Erik's trip with Anna's seat request on it, a ride alert of Anna's, and a weekly
    shop run of the association that Anna is signed up for (the waitlist shown too)."""
    rider = world.people["rider"]
    world.trip = publish(world)
    departure = world.departure = world.trip.occurrences.get()
    booking_request(
        actor=rider,
        passenger=rider,
        occurrence=departure,
        pickup=PICKUP,
        pickup_address="Byvägen 3",
        dropoff=DROPOFF,
        dropoff_address="Skolgatan 9",
    )
    ridden = publish(world, instant_booking=True, first_departure=next_weekday_at(2, 9, 0))
    world.ridden = booking_request(
        actor=rider,
        passenger=rider,
        occurrence=ridden.occurrences.get(),
        pickup=PICKUP,
        pickup_address="Byvägen 3",
        dropoff=DROPOFF,
        dropoff_address="Skolgatan 9",
    )
    TripOccurrence.objects.filter(trip=ridden).update(status=OccurrenceStatus.COMPLETED)
    saved_search_create(
        owner=rider,
        pickup=PICKUP,
        pickup_address="Byvägen 3",
        dropoff=DROPOFF,
        dropoff_address="Skolgatan 9",
        earliest=datetime.time(6, 30),
        latest=datetime.time(8, 0),
        weekdays=[0, 1, 2],
    )
    schedule = schedule_create(
        actor=world.people["coordinator"],
        association=world.a,
        name="Torsdagshandling",
        rrule=f"FREQ=WEEKLY;BYDAY={WEEKDAYS[run_day().weekday()]}",
        starts_on=timezone.localdate(),
        arrive_at=datetime.time(10, 0),
        leave_at=datetime.time(11, 30),
        destination=SHOP,
        destination_name="ICA Nära Vansbro",
        deadline_time=datetime.time(18, 0),
        seats_per_vehicle=1,
        max_vehicles=1,
    )
    run = schedule.occurrences.order_by("arrive_at").first()
    world.run = run
    for person in (world.people["other_resident"], rider):
        signup_create(
            actor=person,
            occurrence=run,
            passenger=person,
            pickup=HOMES[0],
            pickup_address="Byvägen 3",
            needs=["walker"],
            waitlist=True,
        )


def test_every_page_is_accessible_light_and_pictured(live, phone, world: World):
    weights = []
    for who, path, name in PAGES:
        user = world.people[who] if who else None
        context = phone(user, language="sv")
        page = context.new_page()
        transfer = Transfer()
        transfer.watch(page)
        url = path.format(
            held=world.held.pk,
            run=world.run.pk,
            car=world.car.pk,
            ridden=world.ridden.pk,
            trip=world.trip.pk,
            departure=world.departure.pk,
            search=urlencode(search_query()),
            email_link=email_link_token(world.people["email_unconfirmed"]),
            email_link_confirmed=email_link_token(world.people["email_confirmed"]),
            sign_in_link=sign_in_link_path(world.people["email_confirmed"]),
        )
        response = page.goto(url)
        assert response.status in (200, 403), (url, response.status)
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == "sv"
        check_axe(page)
        screenshot(page, name)
        weights.append((name, url, len(transfer.rows), transfer.total))
        context.close()
    table = ["page                 requests   bytes"] + [
        f"{name:<20} {count:>8} {total:>7}" for name, _url, count, total in weights
    ]
    Path(SCREENSHOTS / "page-weight.txt").write_text("\n".join(table) + "\n", encoding="utf-8")
    print("\n".join(table))
    heavy = [(name, total) for name, _url, _count, total in weights if total >= PAGE_BUDGET]
    assert heavy == [], f"over {PAGE_BUDGET} bytes: {heavy}"


# The pages of things one lends: Lars's trailer with Anna's request waiting for him.
LENDING_PAGES = [
    ("owner", "/sharing/mine", "sharing-mine"),
    ("owner", "/sharing/new", "sharing-lend"),
    ("owner", "/sharing/mine/{trailer}/edit", "sharing-lend-edit"),
    ("proxy", "/sharing/new", "sharing-lend-not-member"),
]


def _trailer_requested(world: World) -> None:
    world.trailer.approval_mode = ApprovalMode.OWNER
    world.trailer.save()
    sharing_request(
        actor=world.people["rider"],
        resource=world.trailer,
        starts_at=tomorrow_at(14),
        ends_at=tomorrow_at(17),
        note="Till flytten",
    )


def test_the_pages_of_things_one_lends_are_accessible_and_light(live, phone, world: World):
    off_loop(_trailer_requested, world=world)
    for who, path, name in LENDING_PAGES:
        context = phone(world.people[who], language="sv")
        page = context.new_page()
        transfer = Transfer()
        transfer.watch(page)
        response = page.goto(path.format(trailer=world.trailer.pk))
        assert response.status in (200, 403), (path, response.status)
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == "sv"
        check_axe(page)
        screenshot(page, name)
        assert transfer.total < PAGE_BUDGET, (name, transfer.total)
        context.close()


def test_the_accessibility_check_reports_a_violation(live, phone):
    """The check above would catch a real problem: an image without a text alternative."""
    page = phone().new_page()
    page.set_content('<html lang="en"><body><main><img src="/x.png"></main></body></html>')
    with pytest.raises(AssertionError, match="image-alt"):
        check_axe(page)


def test_the_error_pages_are_accessible_and_lead_on(live, phone, world: World):
    """A page that is not there, and a form refused because its page was out of date
    (the forgery check's cookie gone, as after signing in again in another window)."""
    context = phone(world.people["rider"], language="sv")
    page = context.new_page()
    response = page.goto("/rides/999999/")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Sidan finns inte"
    assert page.locator("html").get_attribute("lang") == "sv"
    check_axe(page)
    screenshot(page, "error-not-found")
    page.get_by_role("link", name="Gå till startsidan").click()
    page.wait_for_url(f"{live.url}/")

    page.goto("/rides/new")
    context.clear_cookies(name="csrftoken")
    page.get_by_role("button", name="In English").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Formuläret var för gammalt"
    check_axe(page)
    screenshot(page, "error-form-out-of-date")
    page.get_by_role("link", name="Öppna sidan igen").click()
    page.wait_for_url(f"{live.url}/rides/new")

    # nginx's page when no web process answers (infra/nginx/locations.conf), as a file.
    page.goto("/static/webapp/unavailable.html")
    assert page.locator("h1").inner_text() == "Samby går inte att nå just nu"
    check_axe(page)
    screenshot(page, "error-unavailable")
    context.close()
