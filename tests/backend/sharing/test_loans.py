"""Check-out and check-in, cost, odometer checks, problem reports, late returns, feeds."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from icalendar import Calendar
from PIL import Image

from backend.errors import ApplicationError, ErrorKind
from backend.notifications.models import Notification
from backend.sharing import services
from backend.sharing.calendar_feed import feed_ical
from backend.sharing.errors import BookingErrorCode
from backend.sharing.models import (
    Booking,
    BookingStatus,
    ConditionPhoto,
    OdometerFlag,
    ProblemKind,
    Resource,
    ResourcePhoto,
)
from backend.sharing.pricing import Prices, booking_cost_ore, time_cost_ore
from backend.sharing.services import Reading
from tests.factories import MembershipFactory, UserFactory
from tests.sharing_fixtures import BookingFactory, wednesday

pytestmark = pytest.mark.django_db
H = datetime.timedelta(hours=1)


# --- Prices -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prices", "length", "km", "expected"),
    [
        (Prices(per_hour_ore=3000), H * 2.5, 0, 9000),
        (Prices(per_day_ore=25000), H * 25, 0, 50000),
        (Prices(per_hour_ore=3000, per_day_ore=25000), H * 3, 0, 9000),
        (Prices(per_hour_ore=3000, per_day_ore=25000), H * 10, 0, 25000),
        (Prices(per_hour_ore=3000, per_day_ore=25000), H * 26, 0, 31000),
        (Prices(per_hour_ore=3000, per_km_ore=150), H * 2, 42, 12300),
        (Prices(), H * 5, 30, 0),
    ],
    ids=[
        "hourly",
        "daily-started-days",
        "hourly-under-day-cap",
        "day-cap",
        "day-and-hours",
        "hour-and-km",
        "free",
    ],
)
def test_cost(prices, length, km, expected):
    assert booking_cost_ore(prices, length, km) == expected


def test_time_cost_of_nothing_is_nothing():
    assert time_cost_ore(Prices(per_hour_ore=100), datetime.timedelta(0)) == 0


# --- Check-out and check-in ------------------------------------------------------------------


def started(resource, booker, **kwargs) -> Booking:
    """A confirmed booking that began an hour ago and ends in an hour."""
    now = timezone.now()
    return BookingFactory(
        resource=resource,
        booker=booker,
        starts_at=now - H,
        ends_at=now + H,
        blocked_until=now + H,
        **kwargs,
    )


def test_car_check_out_and_in_computes_km_and_cost(car, member):
    booking = started(car, member)
    booking = services.booking_check_out(
        actor=member, booking=booking, reading=Reading(odometer_km=12_000, condition="Ren")
    )
    assert (booking.status, booking.odometer_out, booking.odometer_flag) == (
        BookingStatus.CHECKED_OUT,
        12_000,
        OdometerFlag.NONE,
    )
    booking = services.booking_check_in(
        actor=member, booking=booking, reading=Reading(odometer_km=12_042, condition="Lerig")
    )
    assert booking.status == BookingStatus.RETURNED
    assert booking.km_driven == 42
    # Two hours at 30 kr (under the 250 kr day cap) + 42 km at 1.50 kr.
    assert booking.cost_ore == 2 * 3000 + 42 * 150
    assert Resource.objects.get(pk=car.pk).odometer_km == 12_042


def test_odometer_lower_than_at_check_out_is_refused_and_nothing_changes(car, member):
    booking = services.booking_check_out(
        actor=member, booking=started(car, member), reading=Reading(odometer_km=12_000)
    )
    with pytest.raises(ApplicationError) as caught:
        services.booking_check_in(
            actor=member, booking=booking, reading=Reading(odometer_km=11_990)
        )
    assert (caught.value.code, caught.value.kind) == (
        BookingErrorCode.ODOMETER_BACKWARDS,
        ErrorKind.INVALID,
    )
    assert list(caught.value.fields) == ["odometer_km"]
    booking.refresh_from_db()
    assert (booking.status, booking.odometer_in, booking.cost_ore) == ("checked_out", None, None)
    assert Resource.objects.get(pk=car.pk).odometer_km == 12_000


def test_car_check_out_needs_the_odometer(car, member):
    booking = started(car, member)
    with pytest.raises(ApplicationError) as caught:
        services.booking_check_out(actor=member, booking=booking, reading=Reading())
    assert caught.value.code == BookingErrorCode.ODOMETER_REQUIRED
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


@pytest.mark.parametrize(
    ("reading", "flag"), [(12_150, "gap"), (11_900, "overlap")], ids=["gap", "overlap"]
)
def test_odometer_gap_or_overlap_is_flagged_to_the_coordinator(
    car, member, coordinator, reading, flag
):
    booking = services.booking_check_out(
        actor=member, booking=started(car, member), reading=Reading(odometer_km=reading)
    )
    assert booking.odometer_flag == flag
    told = Notification.objects.get(recipient=coordinator, kind="sharing.odometer_flag")
    assert (told.payload["reading"], told.payload["previous"]) == (reading, 12_000)


def test_check_out_too_early_is_refused(trailer, member):
    booking = BookingFactory(resource=trailer, booker=member)  # next Wednesday
    with pytest.raises(ApplicationError) as caught:
        services.booking_check_out(actor=member, booking=booking, reading=Reading())
    assert caught.value.code == BookingErrorCode.TOO_EARLY


def test_someone_else_cannot_check_out(trailer, member, outsider):
    booking = started(trailer, member)
    with pytest.raises(ApplicationError) as caught:
        services.booking_check_out(actor=outsider, booking=booking, reading=Reading())
    assert caught.value.kind == ErrorKind.FORBIDDEN


def test_late_return_is_charged_until_the_return(trailer, member):
    trailer.price_per_hour_ore = 1000
    trailer.save()
    now = timezone.now()
    booking = BookingFactory(
        resource=trailer,
        booker=member,
        status=BookingStatus.OVERDUE,
        starts_at=now - 4 * H,
        ends_at=now - 2 * H,
        blocked_until=now - 2 * H,
        checked_out_at=now - 4 * H,
    )
    booking = services.booking_check_in(actor=member, booking=booking, reading=Reading())
    assert booking.cost_ore == 4 * 1000


def _png(size=(3000, 2000)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return SimpleUploadedFile("bild.png", out.getvalue(), content_type="image/png")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_condition_photos_are_resized_and_stored(trailer, member, media):
    booking = services.booking_check_out(
        actor=member,
        booking=started(trailer, member),
        reading=Reading(condition="Repa"),
        photos=[_png()],
    )
    photo = ConditionPhoto.objects.get(booking=booking)
    assert photo.stage == "out"
    with Image.open(media / photo.image.name) as stored:
        assert stored.format == "JPEG"
        assert max(stored.size) == 1600


def test_resource_photo_upload(trailer, lender, member, media):
    photo = services.resource_photo_add(actor=lender, resource=trailer, upload=_png((800, 600)))
    assert (photo.width, photo.height) == (800, 600)
    assert (media / photo.image.name).exists()
    with pytest.raises(ApplicationError) as caught:
        services.resource_photo_add(
            actor=lender,
            resource=trailer,
            upload=SimpleUploadedFile("x.jpg", b"not a photo", content_type="image/jpeg"),
        )
    assert caught.value.code == "resource_photo_invalid"
    with pytest.raises(ApplicationError) as caught:
        services.resource_photo_add(actor=member, resource=trailer, upload=_png())
    assert caught.value.kind == ErrorKind.FORBIDDEN
    assert ResourcePhoto.objects.count() == 1
    services.resource_photo_delete(actor=lender, photo=photo)
    assert not ResourcePhoto.objects.exists()


# --- Problems ----------------------------------------------------------------------------


def test_breakdown_takes_the_resource_out_of_service_and_cancels_bookings(car, member, coordinator):
    in_use = started(car, member, status=BookingStatus.CHECKED_OUT, odometer_out=12_000)
    next_people = [MembershipFactory(association=car.association).user for _ in range(2)]
    upcoming = [
        BookingFactory(
            resource=car,
            booker=person,
            starts_at=wednesday(8 + 3 * i),
            ends_at=wednesday(9 + 3 * i),
            blocked_until=wednesday(9 + 3 * i),
        )
        for i, person in enumerate(next_people)
    ]
    services.problem_report(
        actor=member,
        resource=car,
        booking=in_use,
        kind=ProblemKind.BREAKDOWN,
        text="Motorlampan lyser",
    )
    car.refresh_from_db()
    assert car.out_of_service
    for booking, person in zip(upcoming, next_people, strict=True):
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CANCELLED
        told = Notification.objects.get(recipient=person)
        assert (told.kind, told.urgent) == ("sharing.out_of_service", True)
    in_use.refresh_from_db()
    assert in_use.status == BookingStatus.CHECKED_OUT  # still has to be returned
    assert Notification.objects.filter(recipient=coordinator, kind="sharing.breakdown").exists()
    with pytest.raises(ApplicationError) as caught:
        services.booking_request(
            actor=member, resource=car, starts_at=wednesday(18), ends_at=wednesday(19)
        )
    assert caught.value.code == BookingErrorCode.UNAVAILABLE
    services.resource_back_in_service(actor=coordinator, resource=car)
    car.refresh_from_db()
    assert not car.out_of_service
    assert car.problems.get().resolved_by == coordinator


def test_note_keeps_it_bookable_and_tells_the_next_bookers(trailer, member, lender):
    started(trailer, member, status=BookingStatus.CHECKED_OUT)
    following = MembershipFactory(association=trailer.association).user
    later = BookingFactory(resource=trailer, booker=following)
    services.problem_report(
        actor=member, resource=trailer, kind=ProblemKind.NOTE, text="Ena lampan är trasig"
    )
    trailer.refresh_from_db()
    later.refresh_from_db()
    assert not trailer.out_of_service
    assert later.status == BookingStatus.CONFIRMED
    assert Notification.objects.get(recipient=following).kind == "sharing.problem_noted"
    assert Notification.objects.get(recipient=lender).kind == "sharing.problem_noted"


def test_strangers_cannot_report_problems(trailer, outsider):
    with pytest.raises(ApplicationError) as caught:
        services.problem_report(actor=outsider, resource=trailer, kind="breakdown", text="x")
    assert caught.value.kind == ErrorKind.FORBIDDEN
    trailer.refresh_from_db()
    assert not trailer.out_of_service


# --- Late returns ----------------------------------------------------------------------------


def test_overdue_reminds_the_booker_and_warns_the_next_booker(trailer, member):
    now = timezone.now()
    late = BookingFactory(
        resource=trailer,
        booker=member,
        status=BookingStatus.CHECKED_OUT,
        starts_at=now - 3 * H,
        ends_at=now - H,
        blocked_until=now - H,
    )
    following = UserFactory()
    BookingFactory(
        resource=trailer,
        booker=following,
        starts_at=now + H,
        ends_at=now + 2 * H,
        blocked_until=now + 2 * H,
    )
    assert services.bookings_mark_overdue(now=now) == 1
    assert services.bookings_mark_overdue(now=now) == 0  # safe to run twice
    late.refresh_from_db()
    assert late.status == BookingStatus.OVERDUE
    assert list(Notification.objects.filter(recipient=member).values_list("kind", "urgent")) == [
        ("sharing.overdue", True)
    ]
    assert Notification.objects.get(recipient=following).kind == "sharing.next_booker_late"
    services.booking_check_in(actor=member, booking=late, reading=Reading())
    assert list(
        Notification.objects.filter(recipient=following).values_list("kind", flat=True)
    ) == ["sharing.next_booker_late", "sharing.back"]


# --- Calendar feeds ------------------------------------------------------------------------


def test_person_feed_parses_and_holds_exactly_their_bookings(trailer, car, hall, member):
    mine = [
        BookingFactory(resource=trailer, booker=member),
        BookingFactory(resource=car, booker=member, status=BookingStatus.REQUESTED),
    ]
    BookingFactory(resource=hall, booker=member, status=BookingStatus.CANCELLED)
    BookingFactory(
        resource=hall,
        booker=UserFactory(),
        starts_at=wednesday(14),
        ends_at=wednesday(16),
        blocked_until=wednesday(16),
    )
    feed = services.person_feed_get_or_create(user=member)
    calendar = Calendar.from_ical(feed_ical(feed))
    events = calendar.walk("VEVENT")
    assert sorted(str(e["uid"]) for e in events) == sorted(
        f"booking-{b.pk}@127.0.0.1:8000" for b in mine
    )
    by_uid = {str(e["uid"]): e for e in events}
    confirmed = by_uid[f"booking-{mine[0].pk}@127.0.0.1:8000"]
    assert confirmed.decoded("dtstart") == mine[0].starts_at
    assert str(confirmed["location"]) == "Storgatan 12, vid garaget"
    requested = by_uid[f"booking-{mine[1].pk}@127.0.0.1:8000"]
    assert str(requested["status"]) == "TENTATIVE"
    assert "location" not in requested  # no exact place before it is confirmed


def test_resource_feed_shows_busy_times_without_names(trailer, member, lender):
    BookingFactory(resource=trailer, booker=member)
    feed = services.resource_feed_get_or_create(actor=lender, resource=trailer)
    body = feed_ical(feed).decode()
    events = Calendar.from_ical(body).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["Bokad"]
    assert member.full_name not in body
    old = feed.token
    assert services.feed_rotate(feed=feed).token != old
