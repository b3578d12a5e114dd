"""Retention: after each period the exact places, free text, messages and audit entries
go; what is younger stays; the municipality statistics do not move (also after the
nightly rebuild); a second run finds nothing. The tasks run as beat would run them,
once in a real worker through Redis."""

import datetime as dt

import celery.contrib.testing.tasks  # noqa: F401 - registers the ping start_worker waits for
import pytest
from celery.contrib.testing.worker import start_worker
from django.contrib.gis.geos import Point
from django.utils import timezone

from backend.accounts.models import LoginCode
from backend.audit.models import AuditEntry
from backend.carpool.models import Booking as SeatBooking
from backend.carpool.models import Trip
from backend.celery import app
from backend.notifications.models import Delivery, InboundSms, Notification, Reminder
from backend.notifications.services import notify
from backend.privacy.points import is_coarse
from backend.privacy.tasks import drop_stale_driver_positions, forget_old_personal_data
from backend.rides.models import DriverProfile, RideRequest
from backend.rides.tasks import forget_old_addresses
from backend.sharing.models import Booking as ThingBooking
from backend.shuttle.models import RunSignup
from backend.stats.refresh import stats_refresh
from tests.backend.privacy.test_erase import _published, _summaries
from tests.backend.stats.test_sources import build_carpool, build_sharing, build_shuttle
from tests.factories import DriverProfileFactory, RideRequestFactory, UserFactory
from tests.stats_data import build_world

NOW = timezone.now()


def _old_texts() -> None:
    """Free text on the old rows (the statistics builders leave none)."""
    RideRequest.objects.update(note="Portkod 1234", pickup_address="Storgatan 1")
    SeatBooking.objects.update(message="Jag står vid kyrkan")
    RunSignup.objects.update(note="Ring på", pickup_address="Byvägen 3")
    ThingBooking.objects.update(note="Till flytten", condition_in="Repa på dörren")


@pytest.mark.django_db
def test_old_places_and_texts_go_and_the_statistics_stay(settings):
    settings.STATS_K_ANONYMITY = 2
    world = build_world()  # rides in January and February 2026: past every period
    build_carpool(world.byaskjutsen, world.vansbro)
    build_shuttle(world.byaskjutsen)
    build_sharing(world.byaskjutsen)
    _old_texts()
    person = world.people["P2"]
    recent = RideRequestFactory(
        rider=person,
        association=world.byaskjutsen,
        state="cancelled",
        closed_at=NOW - dt.timedelta(days=10),
        note="Portkod 9876",
    )
    stats_refresh(full=True)
    before_rows, before = _summaries(), _published(world.a)

    assert forget_old_addresses() > 0
    counts = forget_old_personal_data()
    assert counts["carpool_bookings"] == SeatBooking.objects.count() > 0
    assert counts["shop_run_signups"] == RunSignup.objects.count() > 0
    assert counts["carpool_trips"] == 1
    assert counts["sharing"] >= ThingBooking.objects.count() > 0

    # What went.
    old_rides = RideRequest.objects.exclude(pk=recent.pk)
    assert set(old_rides.values_list("note", "pickup_address", "destination_address")) == {
        ("", "", "")
    }
    assert all(is_coarse(r.pickup) and is_coarse(r.destination) for r in old_rides)
    assert set(SeatBooking.objects.values_list("message", "pickup_address")) == {("", "")}
    assert all(is_coarse(b.pickup) and is_coarse(b.dropoff) for b in SeatBooking.objects.all())
    assert set(RunSignup.objects.values_list("note", "pickup_address")) == {("", "")}
    assert all(is_coarse(s.pickup) for s in RunSignup.objects.all())
    assert set(ThingBooking.objects.values_list("note", "condition_in")) == {("", "")}
    trip = Trip.objects.get()
    assert (trip.origin_address, len(trip.route.coords)) == ("", 2)
    # What stays: the rows themselves, and the recent ride as it was.
    recent.refresh_from_db()
    assert (recent.note, recent.pickup_address) == ("Portkod 9876", "Järnvägsgatan 4, Vansbro")
    assert not is_coarse(recent.pickup)

    # The statistics, refreshed and rebuilt from what is left, are what they were.
    stats_refresh()
    assert _summaries() == before_rows
    stats_refresh(full=True)
    assert _summaries() == before_rows
    assert _published(world.a) == before

    # Safe to run twice: nothing is found again.
    assert forget_old_addresses() == 0
    assert forget_old_personal_data() == dict.fromkeys(counts, 0)


@pytest.mark.django_db
def test_old_messages_sms_codes_and_audit_entries_are_deleted_and_recent_ones_kept(
    settings, rider, coordinator
):
    settings.NOTIFICATION_RETENTION_DAYS = 365
    settings.SMS_RETENTION_DAYS = 90
    settings.AUDIT_RETENTION_DAYS = 730
    old_note = notify(rider, "ride.cancelled", {"when": "2025-01-10 10:00", "reason": "x"})
    new_note = notify(rider, "ride.cancelled", {"when": "2026-11-10 10:00", "reason": "y"})
    Notification.objects.filter(pk=old_note.pk).update(created_at=NOW - dt.timedelta(days=366))
    old_reminder = Reminder.objects.create(
        key="old",
        recipient=rider,
        kind="ride.cancelled",
        payload={},
        due_at=NOW - dt.timedelta(days=400),
    )
    next_reminder = Reminder.objects.create(
        key="next",
        recipient=rider,
        kind="ride.cancelled",
        payload={},
        due_at=NOW + dt.timedelta(days=1),
    )
    old_sms = InboundSms.objects.create(
        provider="elks", sender=rider.phone, body="JA 4821", received_at=NOW - dt.timedelta(days=91)
    )
    new_sms = InboundSms.objects.create(provider="elks", sender=rider.phone, body="NEJ 1234")
    LoginCode.objects.create(
        user=rider,
        code_hash="x" * 64,
        created_at=NOW - dt.timedelta(days=100),
        expires_at=NOW - dt.timedelta(days=100) + dt.timedelta(minutes=10),
    )
    old_entry = AuditEntry.objects.create(
        actor=coordinator, subject=rider, action="ride.view", at=NOW - dt.timedelta(days=731)
    )
    new_entry = AuditEntry.objects.create(actor=coordinator, subject=rider, action="ride.view")
    deliveries_before = Delivery.objects.filter(notification=old_note).count()

    counts = forget_old_personal_data()
    assert counts["notifications"] == 2  # the old message and the old reminder
    assert counts["sms"] == 2  # the old SMS and the old sign-in code
    assert counts["audit"] == 1
    assert not Notification.objects.filter(pk=old_note.pk).exists()
    assert not Delivery.objects.filter(notification_id=old_note.pk).exists()
    assert deliveries_before >= 1
    assert Notification.objects.filter(pk=new_note.pk).exists()
    assert not Reminder.objects.filter(pk=old_reminder.pk).exists()
    assert Reminder.objects.filter(pk=next_reminder.pk).exists()
    assert list(InboundSms.objects.values_list("pk", flat=True)) == [new_sms.pk]
    assert old_sms.pk != new_sms.pk and not LoginCode.objects.exists()
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [new_entry.pk]
    assert old_entry.pk != new_entry.pk
    assert forget_old_personal_data() == dict.fromkeys(counts, 0)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_drops_stale_driver_positions_and_keeps_fresh_ones(settings):
    settings.DRIVER_POSITION_RETENTION_MINUTES = 60
    here = Point(14.22, 60.51, srid=4326)
    stale = DriverProfileFactory(
        on_duty=True, position=here, position_at=NOW - dt.timedelta(minutes=61)
    )
    fresh = DriverProfileFactory(
        on_duty=True, position=here, position_at=NOW - dt.timedelta(minutes=5)
    )
    audit = AuditEntry.objects.create(
        actor=UserFactory(), action="ride.view", at=NOW - dt.timedelta(days=800)
    )
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=10):
        assert drop_stale_driver_positions.delay().get(timeout=60) == 1
        assert forget_old_personal_data.delay().get(timeout=60)["audit"] == 1
        assert drop_stale_driver_positions.delay().get(timeout=60) == 0
    stale, fresh = (DriverProfile.objects.get(pk=p.pk) for p in (stale, fresh))
    assert (stale.position, stale.position_at) == (None, None)
    assert stale.on_duty  # only the position goes; the driver is still on duty
    assert fresh.position == here
    assert not AuditEntry.objects.filter(pk=audit.pk).exists()
