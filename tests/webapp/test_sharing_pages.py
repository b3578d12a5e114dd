"""Shared cars, tools and rooms on the web pages without JavaScript: browse near home,
a thing's page with its calendar, book (for myself or whom I book for), cancel, check
out and in, report a problem. Each role sees and may change only what is theirs; bad
input is answered with what to change and writes nothing."""

import datetime
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from backend.sharing.models import Booking, BookingStatus, ConditionPhoto, ProblemReport
from backend.sharing.services import resource_photo_add
from tests.sharing_fixtures import BookingFactory, ResourceFactory
from tests.webapp.sharing_world import (
    add_sharing,
    book_form,
    local,
    sharing_snapshot,
    tomorrow_at,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(world):
    return add_sharing(world)


def _book(shared, who="rider", booker="rider", resource=None, start=None, **changes) -> Booking:
    resource = resource or shared.car
    response = shared.client(who).post(
        f"/sharing/{resource.pk}/book",
        book_form(shared.people[booker], start or tomorrow_at(10), **changes),
    )
    assert response.status_code == 302, response.content.decode()[:800]
    assert response["Location"] == "/sharing/bookings"
    return Booking.objects.latest("pk")


def _started(booking: Booking) -> Booking:
    """Move a booking to now, so that it can be checked out."""
    now = timezone.now()
    Booking.objects.filter(pk=booking.pk).update(
        starts_at=now - datetime.timedelta(minutes=5),
        ends_at=now + datetime.timedelta(hours=2),
        blocked_until=now + datetime.timedelta(hours=2, minutes=30),
    )
    booking.refresh_from_db()
    return booking


# --- Who may come in --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/sharing/", "/sharing/bookings", "/sharing/{car}/"])
def test_anonymous_is_sent_to_sign_in(shared, path):
    response = shared.client("anonymous").get(path.format(car=shared.car.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in?next=")


def test_anonymous_writes_nothing(shared):
    booking = _book(shared)
    before = sharing_snapshot()
    client = shared.client("anonymous")
    for path, data in [
        (f"/sharing/{shared.car.pk}/book", book_form(shared.people["rider"], tomorrow_at(14))),
        (f"/sharing/bookings/{booking.pk}/cancel", {}),
        (f"/sharing/bookings/{booking.pk}/check-out", {"odometer_km": 12_000}),
        (f"/sharing/{shared.car.pk}/problem", {"kind": "note", "text": "Smutsig"}),
    ]:
        response = client.post(path, data)
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in")
    assert sharing_snapshot() == before


# --- Browse -----------------------------------------------------------------------------------


def test_browse_lists_things_near_home_with_price_and_lender(shared):
    page = shared.client("rider").get("/sharing/").content.decode()
    assert "2 things found" in page
    assert "Byabilen" in page and "30 kr per hour, 1.50 kr per km" in page
    assert "Lars släpvagn" in page
    assert "Släp</dd>" not in page  # a lender's first name only
    assert "Storgatan 12" not in page and "kod 1234" not in page


def test_browse_filters_by_kind_words_and_category(shared):
    client = shared.client("rider")
    page = client.get("/sharing/", {"kind": "car"}).content.decode()
    assert "One thing found" in page and "Byabilen" in page and "släpvagn" not in page
    page = client.get("/sharing/", {"q": "SLÄPVAGN"}).content.decode()
    assert "One thing found" in page and "Lars släpvagn" in page
    page = client.get("/sharing/", {"category": "trailer"}).content.decode()
    assert "One thing found" in page and "Lars släpvagn" in page


def test_browse_for_a_period_leaves_out_what_is_taken(shared):
    _book(shared, start=tomorrow_at(10))
    query = {"starts_at": local(tomorrow_at(11)), "ends_at": local(tomorrow_at(12))}
    page = shared.client("other_resident").get("/sharing/", query).content.decode()
    assert "One thing found" in page and "Byabilen" not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"starts_at": "2030-01-01T10:00"}, "Give both the start and the end, or neither."),
        (
            {"starts_at": "2030-01-01T10:00", "ends_at": "2030-01-01T09:00"},
            "The end must be after the start.",
        ),
        ({"kind": "boat"}, "Select a valid choice"),
        ({"radius_km": "9999"}, "Select a valid choice"),
    ],
)
def test_a_browse_that_makes_no_sense_says_what_to_change(shared, query, message):
    response = shared.client("rider").get("/sharing/", query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_browse_query_count_does_not_grow_with_results(
    shared, django_assert_num_queries, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client = shared.client("rider")
    client.get("/sharing/")
    # session, user, shell (1), the search, its photos
    with django_assert_num_queries(5):
        client.get("/sharing/")
    for n in range(3):
        ResourceFactory(association=shared.a, category="ladder", title=f"Stege {n}")
    with django_assert_num_queries(5):
        page = client.get("/sharing/").content.decode()
    assert "5 things found" in page


# --- A thing's page ---------------------------------------------------------------------------


def test_resource_page_shows_rules_price_and_calendar_but_not_the_key(shared):
    BookingFactory(
        resource=shared.car,
        booker=shared.people["other_resident"],
        starts_at=tomorrow_at(10),
        ends_at=tomorrow_at(12),
        blocked_until=tomorrow_at(12, 30),
    )
    page = shared.client("rider").get(f"/sharing/{shared.car.pk}/").content.decode()
    assert "Ladda till minst 50 %." in page and "30 kr per hour" in page
    assert "10:00\u201312:30 taken" in page  # the buffer after it too
    assert "Johan" not in page  # who booked is not shown to others
    assert "kod 1234" not in page and "Parkeringen bakom ICA" not in page
    assert page.count("free all day") >= 19
    assert "1 hour to 7 days" in page


@pytest.mark.parametrize(
    ("shortest", "longest", "until"),
    [(60, 7 * 24 * 60, (12, 0)), (4 * 60, 7 * 24 * 60, (14, 0)), (15, 60, (11, 0))],
    ids=["two-hours", "the-shortest-is-longer", "the-longest-is-shorter"],
)
def test_the_booking_form_as_it_comes_books(shared, shortest, longest, until):
    """It offers tomorrow from 10, for a period the thing can be booked for."""
    shared.trailer.min_minutes, shared.trailer.max_minutes = shortest, longest
    shared.trailer.save()
    client = shared.client("rider")
    page = client.get(f"/sharing/{shared.trailer.pk}/").content.decode()
    offered = dict(re.findall(r'name="(starts_at|ends_at)" value="([^"]+)"', page))
    assert offered == {"starts_at": local(tomorrow_at(10)), "ends_at": local(tomorrow_at(*until))}

    response = client.post(
        f"/sharing/{shared.trailer.pk}/book", {**offered, "booker": shared.people["rider"].pk}
    )

    assert response.status_code == 302, response.content.decode()[:800]
    booking = Booking.objects.get()
    assert (booking.starts_at, booking.ends_at) == (tomorrow_at(10), tomorrow_at(*until))


@pytest.mark.parametrize("role", ["coordinator", "booker"])
def test_managers_and_bookers_see_where_the_key_is(shared, role):
    if role == "booker":
        _book(shared)
    who = "rider" if role == "booker" else role
    page = shared.client(who).get(f"/sharing/{shared.car.pk}/").content.decode()
    assert "kod 1234" in page and "Parkeringen bakom ICA" in page


def test_the_owner_sees_where_his_trailer_stands(shared):
    page = shared.client("owner").get(f"/sharing/{shared.trailer.pk}/").content.decode()
    assert "Storgatan 12, vid garaget" in page
    page = shared.client("rider").get(f"/sharing/{shared.trailer.pk}/").content.decode()
    assert "Storgatan 12" not in page and "Lars (Äppelbo byalag)" in page


def test_an_unlisted_thing_is_404_for_others(shared):
    shared.trailer.active = False
    shared.trailer.save()
    assert shared.client("rider").get(f"/sharing/{shared.trailer.pk}/").status_code == 404
    assert shared.client("owner").get(f"/sharing/{shared.trailer.pk}/").status_code == 200


# --- Booking ----------------------------------------------------------------------------------


def test_rider_books_the_car_and_sees_the_key_in_her_bookings(shared):
    booking = _book(shared, note="Till doktorn")
    assert booking.status == BookingStatus.CONFIRMED
    assert (booking.booker, booking.booked_by) == (shared.people["rider"],) * 2
    assert booking.note == "Till doktorn"
    assert timezone.localtime(booking.starts_at) == tomorrow_at(10)
    page = shared.client("rider").get("/sharing/bookings").content.decode()
    assert "Byabilen" in page and "Confirmed" in page and "kod 1234" in page
    assert "60 kr" in page  # two hours at 30 kr


def test_proxy_books_for_her_mother(shared):
    form = shared.client("proxy").get(f"/sharing/{shared.car.pk}/").content.decode()
    assert "Who is it for?" in form and "Anna Eriksson" in form
    booking = _book(shared, who="proxy", booker="rider")
    assert (booking.booker, booking.booked_by) == (shared.people["rider"], shared.people["proxy"])
    page = shared.client("proxy").get("/sharing/bookings").content.decode()
    assert "Anna Eriksson" in page and "Cancel the booking" in page


def test_nobody_books_for_someone_they_do_not_book_for(shared):
    before = sharing_snapshot()
    response = shared.client("other_resident").post(
        f"/sharing/{shared.car.pk}/book", book_form(shared.people["rider"], tomorrow_at(10))
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert sharing_snapshot() == before


def test_someone_outside_the_association_cannot_book_a_members_car(shared):
    before = sharing_snapshot()
    response = shared.client("coordinator_elsewhere").post(
        f"/sharing/{shared.car.pk}/book",
        book_form(shared.people["coordinator_elsewhere"], tomorrow_at(10)),
    )
    assert response.status_code == 400
    assert "Only members of Äppelbo byalag can book Byabilen" in response.content.decode()
    assert sharing_snapshot() == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"starts_at": None}, "This field is required."),
        ({"starts_at": "tomorrow"}, "Enter a valid date/time."),
        ({"hours": -1}, "The end must be after the start."),
        ({"hours": 0.25}, "Byabilen is booked for at least 1 hour."),
        ({"start": "past"}, "The start has passed."),
        ({"note": "x" * 501}, "at most 500 characters"),
    ],
)
def test_bad_booking_input_says_what_to_change_and_writes_nothing(shared, changes, message):
    before = sharing_snapshot()
    hours = changes.pop("hours", 2)
    start = tomorrow_at(10)
    if changes.pop("start", None) == "past":
        start -= datetime.timedelta(days=3)
    response = shared.client("rider").post(
        f"/sharing/{shared.car.pk}/book",
        book_form(shared.people["rider"], start, hours=hours, **changes),
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert sharing_snapshot() == before


def test_an_overlap_says_when_it_is_free_and_offers_that_time(shared):
    _book(shared, start=tomorrow_at(10))
    before = sharing_snapshot()
    client = shared.client("other_resident")
    response = client.post(
        f"/sharing/{shared.car.pk}/book",
        book_form(shared.people["other_resident"], tomorrow_at(11)),
    )
    page = response.content.decode()
    assert response.status_code == 400
    free = tomorrow_at(12, 30).strftime("%Y-%m-%d %H:%M")  # after the 30-minute buffer
    assert f"Byabilen is already booked then. It is free from {free}." in page
    assert sharing_snapshot() == before
    assert f'name="starts_at" value="{local(tomorrow_at(12, 30))}"' in page
    # The suggested time books.
    booking = _book(
        shared, who="other_resident", booker="other_resident", start=tomorrow_at(12, 30)
    )
    assert booking.status == BookingStatus.CONFIRMED


def test_a_thing_someone_cannot_see_cannot_be_booked(shared):
    shared.trailer.active = False
    shared.trailer.save()
    before = sharing_snapshot()
    response = shared.client("rider").post(
        f"/sharing/{shared.trailer.pk}/book", book_form(shared.people["rider"], tomorrow_at(10))
    )
    assert response.status_code == 404
    assert sharing_snapshot() == before


# --- Cancel -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rider", "proxy"])
def test_booker_or_proxy_cancels(shared, who):
    booking = _book(shared)
    response = shared.client(who).post(f"/sharing/bookings/{booking.pk}/cancel", {"reason": "Sjuk"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.reason) == (BookingStatus.CANCELLED, "Sjuk")


@pytest.mark.parametrize("role", ["other_resident", "owner", "coordinator_elsewhere", "analyst"])
def test_others_cannot_touch_my_booking(shared, role):
    booking = _book(shared)
    before = sharing_snapshot()
    client = shared.client(role)
    for action in ("cancel", "check-out", "check-in"):
        response = client.post(f"/sharing/bookings/{booking.pk}/{action}", {"odometer_km": 12_000})
        assert response.status_code == 404
    assert "Byabilen" not in client.get("/sharing/bookings").content.decode()
    assert sharing_snapshot() == before


def test_a_too_long_reason_writes_nothing(shared):
    booking = _book(shared)
    before = sharing_snapshot()
    response = shared.client("rider").post(
        f"/sharing/bookings/{booking.pk}/cancel", {"reason": "x" * 301}, follow=True
    )
    assert "at most 300 characters" in response.content.decode()
    assert sharing_snapshot() == before


# --- Check out and in -------------------------------------------------------------------------


def _png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 120, 10)).save(out, format="PNG")
    return SimpleUploadedFile("bil.png", out.getvalue(), content_type="image/png")


def test_rider_checks_the_car_out_and_in(shared, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    booking = _started(_book(shared))
    client = shared.client("rider")
    page = client.get("/sharing/bookings").content.decode()
    assert 'value="12000"' in page  # the last reading, to correct
    response = client.post(
        f"/sharing/bookings/{booking.pk}/check-out",
        {"odometer_km": 12_000, "condition": "Repa på dörren", "photo": _png()},
        follow=True,
    )
    assert "Checked out. Have a good trip!" in response.content.decode()
    booking.refresh_from_db()
    assert (booking.status, booking.odometer_out, booking.condition_out) == (
        BookingStatus.CHECKED_OUT,
        12_000,
        "Repa på dörren",
    )
    assert ConditionPhoto.objects.filter(booking=booking, stage="out").count() == 1
    response = client.post(
        f"/sharing/bookings/{booking.pk}/check-in", {"odometer_km": 12_042}, follow=True
    )
    assert "Thank you! 42 km" in response.content.decode()
    booking.refresh_from_db()
    assert (booking.status, booking.km_driven) == (BookingStatus.RETURNED, 42)
    shared.car.refresh_from_db()
    assert shared.car.odometer_km == 12_042


def test_proxy_checks_out_for_her_mother(shared):
    booking = _started(_book(shared, who="proxy", booker="rider"))
    shared.client("proxy").post(
        f"/sharing/bookings/{booking.pk}/check-out", {"odometer_km": 12_000}
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHECKED_OUT


@pytest.mark.parametrize(
    ("step", "data", "message"),
    [
        ("check-out", {}, "Read the odometer and give it in km."),
        ("check-out", {"odometer_km": "tolv"}, "Enter a whole number."),
        ("check-out", {"odometer_km": -5}, "greater than or equal to 0"),
        ("check-out", {"odometer_km": 12_000, "photo": "not a file"}, ""),
        ("check-in", {"odometer_km": 11_000}, "The booking is"),
    ],
)
def test_bad_readings_say_what_to_change_and_write_nothing(shared, step, data, message):
    booking = _started(_book(shared))
    if step == "check-in":
        message = "This booking is confirmed and cannot be changed that way."
    before = sharing_snapshot()
    if data.get("photo") == "not a file":
        data = {
            "odometer_km": 12_000,
            "photo": SimpleUploadedFile("x.png", b"not an image", content_type="image/png"),
        }
        message = "Upload a valid image."
    response = shared.client("rider").post(
        f"/sharing/bookings/{booking.pk}/{step}", data, follow=True
    )
    assert message in response.content.decode()
    assert sharing_snapshot() == before


def test_a_check_in_below_the_check_out_reading_writes_nothing(shared):
    booking = _started(_book(shared))
    client = shared.client("rider")
    client.post(f"/sharing/bookings/{booking.pk}/check-out", {"odometer_km": 12_000})
    before = sharing_snapshot()
    response = client.post(
        f"/sharing/bookings/{booking.pk}/check-in", {"odometer_km": 11_999}, follow=True
    )
    assert "The odometer showed 12000 km at check-out" in response.content.decode()
    assert sharing_snapshot() == before


def test_checking_out_too_early_says_from_when(shared):
    booking = _book(shared)
    before = sharing_snapshot()
    response = shared.client("rider").post(
        f"/sharing/bookings/{booking.pk}/check-out", {"odometer_km": 12_000}, follow=True
    )
    assert "Check out from" in response.content.decode()
    assert sharing_snapshot() == before


def test_a_tool_is_checked_out_without_an_odometer(shared):
    booking = _started(_book(shared, resource=shared.trailer))
    page = shared.client("rider").get("/sharing/bookings").content.decode()
    assert "Odometer" not in page
    shared.client("rider").post(f"/sharing/bookings/{booking.pk}/check-out", {"condition": "Fint"})
    booking.refresh_from_db()
    assert (booking.status, booking.odometer_out) == (BookingStatus.CHECKED_OUT, None)


# --- Problems -----------------------------------------------------------------------------------


def test_a_note_is_stored_and_the_car_stays_bookable(shared):
    booking = _book(shared)
    shared.client("rider").post(
        f"/sharing/{shared.car.pk}/problem",
        {"kind": "note", "text": "Torkarbladet slitet", "booking": booking.pk},
    )
    report = ProblemReport.objects.get()
    assert (report.kind, report.text, report.booking) == ("note", "Torkarbladet slitet", booking)
    shared.car.refresh_from_db()
    assert not shared.car.out_of_service


def test_a_breakdown_takes_the_car_out_of_service(shared):
    mine = _book(shared)
    later = _book(shared, who="other_resident", booker="other_resident", start=tomorrow_at(15))
    response = shared.client("rider").post(
        f"/sharing/{shared.car.pk}/problem",
        {"kind": "breakdown", "text": "Startar inte", "booking": mine.pk},
        follow=True,
    )
    assert "The owner is told." in response.content.decode()
    shared.car.refresh_from_db()
    later.refresh_from_db()
    assert shared.car.out_of_service and later.status == BookingStatus.CANCELLED
    page = shared.client("other_resident").get(f"/sharing/{shared.car.pk}/").content.decode()
    assert "Out of service" in page and "It cannot be booked right now." in page


@pytest.mark.parametrize(
    ("who", "data", "message"),
    [
        ("rider", {"kind": "note", "text": ""}, "describe what is wrong"),
        ("rider", {"kind": "fire", "text": "Brinner"}, "describe what is wrong"),
        (
            "other_resident",
            {"kind": "breakdown", "text": "Trasig"},
            "Only people who have booked Byabilen, or its owner, can report a problem.",
        ),
    ],
)
def test_bad_or_unallowed_reports_write_nothing(shared, who, data, message):
    _book(shared)
    before = sharing_snapshot()
    response = shared.client(who).post(f"/sharing/{shared.car.pk}/problem", data, follow=True)
    assert message in response.content.decode()
    assert sharing_snapshot() == before


# --- My bookings and the start page -------------------------------------------------------------


def test_bookings_page_query_count_is_fixed(shared, django_assert_num_queries):
    _book(shared)
    client = shared.client("rider")
    client.get("/sharing/bookings")
    # session, user, shell (1), current, earlier
    with django_assert_num_queries(5):
        client.get("/sharing/bookings")
    _book(shared, resource=shared.trailer)
    _book(shared, start=tomorrow_at(16))
    cancelled = _book(shared, start=tomorrow_at(19))
    client.post(f"/sharing/bookings/{cancelled.pk}/cancel", {})
    with django_assert_num_queries(5):
        page = client.get("/sharing/bookings").content.decode()
    assert page.count("Cancel the booking") == 3
    assert "Cancelled" in page


def test_the_coordinator_does_not_see_residents_bookings_as_hers(shared):
    _book(shared)
    page = shared.client("coordinator").get("/sharing/bookings").content.decode()
    assert "Nothing booked." in page


def test_home_shows_my_next_booking_and_the_proxy_sees_it_too(shared):
    _book(shared)
    for who in ("rider", "proxy"):
        page = shared.client(who).get("/").content.decode()
        assert "Byabilen" in page and "Anna Eriksson" in page
    assert "Nothing borrowed." in shared.client("other_resident").get("/").content.decode()


def test_photos_show_on_the_resource_page_and_in_browse(shared, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    photo = resource_photo_add(
        actor=shared.people["coordinator"], resource=shared.car, upload=_png()
    )
    page = shared.client("rider").get(f"/sharing/{shared.car.pk}/").content.decode()
    assert f'src="{photo.image.url}"' in page and 'alt="Byabilen, photo 1"' in page
    page = shared.client("rider").get("/sharing/").content.decode()
    assert f'src="{photo.image.url}"' in page
