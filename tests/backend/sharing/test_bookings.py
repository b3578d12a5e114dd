"""Bookings: the database refuses overlaps (buffer included), states move once, fair-use
limits, permissions, waiting list."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone, translation

from backend.errors import ApplicationError, ErrorKind
from backend.notifications.models import Notification
from backend.sharing import services
from backend.sharing.errors import BookingErrorCode
from backend.sharing.models import ApprovalMode, Booking, BookingStatus, Clearance, WaitlistEntry
from tests.factories import MembershipFactory, UserFactory
from tests.sharing_fixtures import BookingFactory, ResourceFactory, wednesday

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)


def book(actor, resource, start, end, **kwargs) -> Booking:
    return services.booking_request(
        actor=actor, resource=resource, starts_at=start, ends_at=end, **kwargs
    )


def refused(call, code: str, kind: ErrorKind) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    assert (caught.value.code, caught.value.kind) == (code, kind)
    return caught.value


# --- The exclusion constraint itself ------------------------------------------------------


def test_database_refuses_an_overlapping_row():
    first = BookingFactory()
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        BookingFactory(
            resource=first.resource,
            starts_at=first.starts_at + H,
            ends_at=first.ends_at + H,
            blocked_until=first.ends_at + H,
        )
    assert caught.value.__cause__.diag.constraint_name == "booking_no_overlap"
    assert Booking.objects.count() == 1


def test_database_refuses_a_row_inside_the_buffer():
    first = BookingFactory(blocked_until=wednesday(12, 30))  # 10-12, buffer to 12:30
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(resource=first.resource, starts_at=wednesday(12, 15), ends_at=wednesday(13))


@pytest.mark.parametrize(
    "status",
    [BookingStatus.DECLINED, BookingStatus.CANCELLED, BookingStatus.RETURNED],
    ids=["declined", "cancelled", "returned"],
)
def test_database_lets_a_booking_overlap_one_that_no_longer_holds(status):
    first = BookingFactory(status=status, returned_at=wednesday(12))
    BookingFactory(resource=first.resource)
    assert Booking.objects.filter(resource=first.resource).count() == 2


def test_database_allows_back_to_back_and_other_resources():
    first = BookingFactory()
    BookingFactory(
        resource=first.resource,
        starts_at=first.ends_at,
        ends_at=first.ends_at + H,
        blocked_until=first.ends_at + H,
    )
    BookingFactory(starts_at=first.starts_at, ends_at=first.ends_at)  # another resource
    assert Booking.objects.count() == 3


@pytest.mark.parametrize(
    ("start", "end", "blocked"),
    [(12, 10, 12), (10, 12, 11)],
    ids=["end-before-start", "buffer-before-end"],
)
def test_database_refuses_a_disordered_period(start, end, blocked):
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(
            starts_at=wednesday(start), ends_at=wednesday(end), blocked_until=wednesday(blocked)
        )


def test_database_refuses_an_odometer_that_runs_backwards():
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(odometer_out=100, odometer_in=99)


# --- Booking through the service --------------------------------------------------------


def test_buffer_is_honoured_and_the_error_suggests_the_next_free_time(car, member):
    book(member, car, wednesday(10), wednesday(12))  # buffer 30 min
    error = refused(
        lambda: book(member, car, wednesday(12), wednesday(13)),
        BookingErrorCode.OVERLAP,
        ErrorKind.CONFLICT,
    )
    assert "12:30" in str(error.message)
    assert error.next_free == wednesday(12, 30)
    later = book(member, car, wednesday(12, 30), wednesday(13, 30))
    assert later.status == BookingStatus.CONFIRMED
    assert later.blocked_until == wednesday(14)


def test_a_new_booking_must_leave_the_buffer_before_the_next_one(car, member):
    book(member, car, wednesday(12), wednesday(14))
    refused(
        lambda: book(member, car, wednesday(10), wednesday(11, 45)),
        BookingErrorCode.OVERLAP,
        ErrorKind.CONFLICT,
    )
    assert book(member, car, wednesday(10), wednesday(11, 30)).status == BookingStatus.CONFIRMED


def test_back_to_back_bookings_without_buffer(trailer, member):
    book(member, trailer, wednesday(10), wednesday(12))
    assert book(member, trailer, wednesday(12), wednesday(14)).status == BookingStatus.CONFIRMED


def test_declined_and_cancelled_bookings_free_the_period(hall, member, coordinator):
    asked = book(member, hall, wednesday(10), wednesday(14))
    assert asked.status == BookingStatus.REQUESTED
    other = MembershipFactory(association=hall.association).user
    refused(
        lambda: book(other, hall, wednesday(11), wednesday(12)),
        BookingErrorCode.OVERLAP,
        ErrorKind.CONFLICT,
    )
    services.booking_decline(actor=coordinator, booking=asked, reason="Städdag")
    second = book(other, hall, wednesday(11), wednesday(12))
    services.booking_cancel(actor=other, booking=second)
    assert book(member, hall, wednesday(10), wednesday(14)).status == BookingStatus.REQUESTED


def test_the_owner_approves_once(hall, member, coordinator):
    asked = book(member, hall, wednesday(10), wednesday(14))
    approved = services.booking_approve(actor=coordinator, booking=asked)
    assert (approved.status, approved.decided_by) == (BookingStatus.CONFIRMED, coordinator)
    refused(
        lambda: services.booking_decline(actor=coordinator, booking=asked),
        BookingErrorCode.WRONG_STATE,
        ErrorKind.CONFLICT,
    )
    kinds = list(Notification.objects.filter(recipient=member).values_list("kind", flat=True))
    assert kinds == ["sharing.booking_confirmed"]
    assert (
        Notification.objects.filter(recipient=coordinator, kind="sharing.booking_requested").count()
        == 1
    )


@pytest.mark.parametrize("who", ["booker", "other_member", "other_coordinator", "outsider"])
def test_only_the_owner_or_a_coordinator_approves(hall, member, who, other_coordinator, outsider):
    asked = book(member, hall, wednesday(10), wednesday(14))
    actor = {
        "booker": member,
        "other_member": MembershipFactory(association=hall.association).user,
        "other_coordinator": other_coordinator,
        "outsider": outsider,
    }[who]
    refused(
        lambda: services.booking_approve(actor=actor, booking=asked),
        "resource_not_allowed",
        ErrorKind.FORBIDDEN,
    )
    asked.refresh_from_db()
    assert asked.status == BookingStatus.REQUESTED


def test_a_resident_owner_approves_their_own_thing(association, lender, member):
    trailer = ResourceFactory(
        association=association, owner=lender, approval_mode=ApprovalMode.OWNER
    )
    asked = book(member, trailer, wednesday(10), wednesday(12))
    assert services.booking_approve(actor=lender, booking=asked).status == "confirmed"


def test_non_member_cannot_book_members_only(car, outsider):
    refused(
        lambda: book(outsider, car, wednesday(10), wednesday(12)),
        BookingErrorCode.NOT_MEMBER,
        ErrorKind.FORBIDDEN,
    )
    assert not Booking.objects.exists()


def test_gated_item_needs_a_clearance(car, member, coordinator):
    car.requires_clearance = True
    car.save()
    refused(
        lambda: book(member, car, wednesday(10), wednesday(12)),
        BookingErrorCode.NOT_CLEARED,
        ErrorKind.FORBIDDEN,
    )
    refused(
        lambda: services.clearance_grant(actor=member, resource=car, user=member),
        "resource_not_allowed",
        ErrorKind.FORBIDDEN,
    )
    services.clearance_grant(actor=coordinator, resource=car, user=member, note="B-körkort")
    assert Clearance.objects.get().note == "B-körkort"
    assert book(member, car, wednesday(10), wednesday(12)).status == BookingStatus.CONFIRMED


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        ((12, 0), (10, 0), BookingErrorCode.PERIOD_INVALID),
        ((10, 0), (10, 30), BookingErrorCode.TOO_SHORT),
        ((10, 0), None, BookingErrorCode.TOO_LONG),
        (None, (10, 0), BookingErrorCode.IN_PAST),
    ],
    ids=["reversed", "too-short", "too-long", "in-the-past"],
)
def test_bad_periods_are_refused_and_nothing_is_stored(trailer, member, start, end, code):
    starts_at = wednesday(*start) if start else wednesday(10) - datetime.timedelta(days=14)
    ends_at = wednesday(*end) if end else starts_at + datetime.timedelta(days=8)
    refused(lambda: book(member, trailer, starts_at, ends_at), code, ErrorKind.INVALID)
    assert not Booking.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("hours", "language", "message"),
    [
        (2, "sv", "Lars släpvagn bokas i minst 4 timmar."),
        (2, "en", "Lars släpvagn is booked for at least 4 hours."),
        (8 * 24, "sv", "Lars släpvagn kan bokas i högst 7 dygn åt gången."),
        (8 * 24, "en", "Lars släpvagn can be booked for at most 7 days at a time."),
    ],
    ids=["too-short-sv", "too-short-en", "too-long-sv", "too-long-en"],
)
def test_a_period_of_the_wrong_length_is_refused_with_the_limit_in_words(
    trailer, member, hours, language, message
):
    trailer.min_minutes = 4 * 60
    trailer.save()
    with translation.override(language):
        error = refused(
            lambda: book(member, trailer, wednesday(10), wednesday(10) + hours * H),
            BookingErrorCode.TOO_SHORT if hours < 4 else BookingErrorCode.TOO_LONG,
            ErrorKind.INVALID,
        )
        assert str(error.message) == message


@pytest.mark.parametrize(
    ("minutes", "english", "swedish"),
    [
        (30, "30 minutes", "30 minuter"),
        (60, "1 hour", "1 timme"),
        (90, "1 hour 30 minutes", "1 timme 30 minuter"),
        (4 * 60, "4 hours", "4 timmar"),
        (24 * 60, "1 day", "1 dygn"),
        (7 * 24 * 60, "7 days", "7 dygn"),
        (24 * 60 + 61, "1 day 1 hour 1 minute", "1 dygn 1 timme 1 minut"),
    ],
)
def test_lengths_are_worded_in_days_hours_and_minutes(minutes, english, swedish):
    length = datetime.timedelta(minutes=minutes)
    with translation.override("en"):
        assert services.duration_text(length) == english
    with translation.override("sv"):
        assert services.duration_text(length) == swedish


def test_out_of_service_resource_cannot_be_booked(trailer, member):
    trailer.out_of_service = True
    trailer.save()
    refused(
        lambda: book(member, trailer, wednesday(10), wednesday(12)),
        BookingErrorCode.UNAVAILABLE,
        ErrorKind.CONFLICT,
    )


@override_settings(SHARING_MAX_ACTIVE_BOOKINGS=2)
def test_limit_on_active_bookings(trailer, member):
    book(member, trailer, wednesday(8), wednesday(9))
    book(member, trailer, wednesday(10), wednesday(11))
    refused(
        lambda: book(member, trailer, wednesday(12), wednesday(13)),
        BookingErrorCode.LIMIT_ACTIVE,
        ErrorKind.CONFLICT,
    )


@override_settings(SHARING_MAX_DAYS_PER_MONTH=1)
def test_limit_on_days_per_month(trailer, member):
    book(member, trailer, wednesday(0), wednesday(20))
    other = ResourceFactory(association=trailer.association)
    refused(
        lambda: book(member, other, wednesday(10), wednesday(15)),
        BookingErrorCode.LIMIT_DAYS,
        ErrorKind.CONFLICT,
    )


def test_a_proxy_books_for_a_resident_and_a_stranger_cannot(trailer, member):
    from backend.accounts.models import ProxyLink

    daughter = UserFactory()
    ProxyLink.objects.create(proxy=daughter, resident=member, accepted_at=timezone.now())
    booking = book(daughter, trailer, wednesday(10), wednesday(12), booker=member)
    assert (booking.booker, booking.booked_by) == (member, daughter)
    refused(
        lambda: book(UserFactory(), trailer, wednesday(13), wednesday(14), booker=member),
        BookingErrorCode.NOT_ALLOWED,
        ErrorKind.FORBIDDEN,
    )


def test_waitlist_is_told_when_the_period_frees_up(trailer, member):
    taken = book(member, trailer, wednesday(10), wednesday(14))
    waiting = MembershipFactory(association=trailer.association).user
    services.waitlist_join(
        actor=waiting, resource=trailer, starts_at=wednesday(11), ends_at=wednesday(13)
    )
    refused(
        lambda: services.waitlist_join(
            actor=waiting, resource=trailer, starts_at=wednesday(11), ends_at=wednesday(13)
        ),
        BookingErrorCode.ALREADY_WAITING,
        ErrorKind.CONFLICT,
    )
    assert not Notification.objects.filter(recipient=waiting).exists()
    services.booking_cancel(actor=member, booking=taken)
    told = Notification.objects.get(recipient=waiting)
    assert told.kind == "sharing.waitlist_free"
    assert told.payload["resource_id"] == trailer.pk
    assert WaitlistEntry.objects.get().notified_at is not None


def test_waitlist_is_not_told_while_another_booking_still_holds_the_period(trailer, member):
    first = book(member, trailer, wednesday(10), wednesday(12))
    book(member, trailer, wednesday(12), wednesday(14))
    waiting = MembershipFactory(association=trailer.association).user
    services.waitlist_join(
        actor=waiting, resource=trailer, starts_at=wednesday(11), ends_at=wednesday(13)
    )
    services.booking_cancel(actor=member, booking=first)
    assert not Notification.objects.filter(recipient=waiting).exists()


def test_cancel_by_someone_else_is_refused(trailer, member, outsider):
    booking = book(member, trailer, wednesday(10), wednesday(12))
    refused(
        lambda: services.booking_cancel(actor=outsider, booking=booking),
        BookingErrorCode.NOT_ALLOWED,
        ErrorKind.FORBIDDEN,
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_a_proxy_who_has_not_said_yes_cannot_book_or_see_the_bookings(trailer, member):
    from backend.accounts.models import ProxyLink
    from backend.sharing.selectors import bookings_of_person

    daughter = UserFactory()
    booking = book(member, trailer, wednesday(10), wednesday(12))
    link = ProxyLink.objects.create(proxy=daughter, resident=member)
    assert booking not in bookings_of_person(actor=daughter)
    refused(
        lambda: book(daughter, trailer, wednesday(13), wednesday(14), booker=member),
        BookingErrorCode.NOT_ALLOWED,
        ErrorKind.FORBIDDEN,
    )
    link.accepted_at = timezone.now()
    link.save()
    assert booking in bookings_of_person(actor=daughter)
