"""Signing up for a shop run: by the resident, a proxy or a coordinator; the deadline;
a full run and its waitlist; standing sign-ups; what is refused."""

import datetime

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from backend.errors import ApplicationError
from backend.notifications.models import Channel, Delivery, Notification
from backend.shuttle.models import RunOccurrence, RunSignup, SignupState, StandingSignup
from backend.shuttle.services import (
    occurrences_materialise,
    seat_offer_answer,
    seat_offers_expire,
    signup_cancel,
    signup_create,
    standing_end,
)
from tests.shuttle_world import HOMES, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.ROUTER_URL = ""
    return make_world(seats_per_vehicle=2, max_vehicles=1)  # two seats: easy to fill


def sign_up(world, actor, passenger, **extra):
    return signup_create(actor=actor, occurrence=world.occurrence, passenger=passenger, **extra)


def test_resident_signs_up_with_home_as_pickup(world):
    resident = world.residents[0]
    signup = sign_up(world, resident, resident, needs=["walker", "bags"], note="Ring på")
    assert signup.state == SignupState.CONFIRMED
    assert signup.pickup == resident.home_location
    assert signup.pickup_address == resident.home_address
    assert signup.needs == ["bags", "walker"]
    assert signup.signed_up_by == resident
    assert RunOccurrence.objects.get(pk=world.occurrence.pk).seats_taken == 1
    notification = Notification.objects.get(recipient=resident, kind="shuttle.signed_up")
    assert notification.payload["name"] == resident.full_name


def test_proxy_signs_up_their_mother_and_both_are_told(world):
    signup = sign_up(world, world.daughter, world.managed)
    assert (signup.passenger, signup.signed_up_by) == (world.managed, world.daughter)
    assert signup.pickup_address == "Gretas väg 9"
    told = Notification.objects.filter(kind="shuttle.signed_up").values_list("recipient", flat=True)
    assert set(told) == {world.managed.pk, world.daughter.pk}
    # Greta has no phone: her SMS goes to her daughter's.
    sms = Delivery.objects.get(notification__recipient=world.managed, channel=Channel.SMS)
    assert sms.address == world.daughter.phone


def test_coordinator_signs_up_someone_on_the_phone_at_another_address(world):
    elsewhere = Point(14.2500, 60.5100, srid=4326)
    signup = sign_up(
        world,
        world.coordinator,
        world.residents[1],
        pickup=elsewhere,
        pickup_address="Vårdcentralen",
    )
    assert signup.signed_up_by == world.coordinator
    assert (signup.pickup, signup.pickup_address) == (elsewhere, "Vårdcentralen")


@pytest.mark.parametrize(
    ("who", "passenger", "code"),
    [
        pytest.param("residents.1", "residents.0", "run_not_allowed", id="someone-else"),
        pytest.param("outsider", "outsider", "not_member", id="other-association"),
        pytest.param("driver", "residents.0", "run_not_allowed", id="driver-for-a-resident"),
        pytest.param("daughter", "daughter", "not_member", id="proxy-herself"),
    ],
)
def test_who_may_not_sign_up_whom(world, who, passenger, code):
    def pick(name):
        if name == "driver":
            return world.driver_user(0)
        if "." in name:
            attribute, index = name.split(".")
            return getattr(world, attribute)[int(index)]
        return getattr(world, name)

    with pytest.raises(ApplicationError) as error:
        sign_up(world, pick(who), pick(passenger))
    assert error.value.code == code
    assert error.value.kind == "forbidden"
    assert not RunSignup.objects.exists()


def test_after_the_deadline_residents_are_refused_with_the_time_but_a_coordinator_can_add(world):
    deadline = timezone.now() - datetime.timedelta(minutes=5)
    RunOccurrence.objects.filter(pk=world.occurrence.pk).update(signup_deadline=deadline)
    for actor, passenger in [
        (world.residents[0], world.residents[0]),
        (world.daughter, world.managed),
    ]:
        with pytest.raises(ApplicationError) as error:
            sign_up(world, actor, passenger)
        assert error.value.code == "signup_deadline_passed"
        assert error.value.kind == "conflict"
        assert timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M") in str(error.value.message)
    assert not RunSignup.objects.exists()
    assert RunOccurrence.objects.get(pk=world.occurrence.pk).seats_taken == 0
    late = sign_up(world, world.coordinator, world.residents[0])
    assert late.state == SignupState.CONFIRMED


def test_a_full_run_refuses_with_a_clear_message_and_writes_nothing(world):
    sign_up(world, world.residents[0], world.residents[0])
    sign_up(world, world.residents[1], world.residents[1])
    before = Notification.objects.count()
    with pytest.raises(ApplicationError) as error:
        sign_up(world, world.residents[2], world.residents[2])
    assert error.value.code == "run_full"
    assert error.value.kind == "conflict"
    assert "väntelistan" in str(error.value.message)
    assert RunSignup.objects.filter(passenger=world.residents[2]).count() == 0
    assert Notification.objects.count() == before
    assert RunOccurrence.objects.get(pk=world.occurrence.pk).seats_taken == 2


def test_a_companion_takes_a_second_seat(world):
    signup = sign_up(world, world.residents[0], world.residents[0], needs=["companion"])
    assert signup.seats == 2
    with pytest.raises(ApplicationError) as error:
        sign_up(world, world.residents[1], world.residents[1])
    assert error.value.code == "run_full"


def test_the_waitlist_is_offered_a_freed_seat_in_order(world):
    first = sign_up(world, world.residents[0], world.residents[0])
    sign_up(world, world.residents[1], world.residents[1])
    waiting = [
        sign_up(world, world.residents[2], world.residents[2], waitlist=True),
        sign_up(world, world.daughter, world.managed, waitlist=True),
    ]
    assert [w.state for w in waiting] == [SignupState.WAITLISTED] * 2
    assert (
        Notification.objects.get(recipient=world.managed, kind="shuttle.waitlisted").payload[
            "position"
        ]
        == 2
    )
    signup_cancel(actor=world.residents[0], signup=first)
    offered = RunSignup.objects.get(pk=waiting[0].pk)
    assert offered.state == SignupState.OFFERED
    assert offered.offer_expires_at > timezone.now()
    assert RunSignup.objects.get(pk=waiting[1].pk).state == SignupState.WAITLISTED
    assert RunOccurrence.objects.get(pk=world.occurrence.pk).seats_taken == 2  # held for her
    assert Notification.objects.filter(
        recipient=world.residents[2], kind="shuttle.seat_offered"
    ).exists()
    # She says no: the seat goes to Greta (her daughter is told, and can answer).
    seat_offer_answer(actor=world.residents[2], signup=offered, accept=False)
    greta = RunSignup.objects.get(pk=waiting[1].pk)
    assert greta.state == SignupState.OFFERED
    assert Notification.objects.filter(
        recipient=world.daughter, kind="shuttle.seat_offered"
    ).exists()
    seat_offer_answer(actor=world.daughter, signup=greta, accept=True)
    assert RunSignup.objects.get(pk=greta.pk).state == SignupState.CONFIRMED
    assert RunOccurrence.objects.get(pk=world.occurrence.pk).seats_taken == 2


def test_an_unanswered_seat_offer_expires_to_the_next(world):
    first = sign_up(world, world.residents[0], world.residents[0])
    sign_up(world, world.residents[1], world.residents[1])
    slow = sign_up(world, world.residents[2], world.residents[2], waitlist=True)
    next_one = sign_up(world, world.residents[3], world.residents[3], waitlist=True)
    signup_cancel(actor=world.coordinator, signup=first)
    expires = RunSignup.objects.get(pk=slow.pk).offer_expires_at
    assert seat_offers_expire(now=expires - datetime.timedelta(minutes=1)) == 0
    assert seat_offers_expire(now=expires + datetime.timedelta(minutes=1)) == 1
    assert RunSignup.objects.get(pk=slow.pk).state == SignupState.CANCELLED
    assert RunSignup.objects.get(pk=next_one.pk).state == SignupState.OFFERED
    with pytest.raises(ApplicationError) as error:
        seat_offer_answer(actor=world.residents[2], signup=slow, accept=True)
    assert error.value.code == "signup_wrong_state"


def test_standing_signups_appear_on_new_occurrences(world, settings):
    resident = world.residents[0]
    signup = sign_up(world, world.coordinator, resident, standing=True, needs=["bags"])
    standing = StandingSignup.objects.get(passenger=resident)
    assert signup.standing == standing
    # Already materialised later runs got it too.
    later = RunOccurrence.objects.filter(schedule=world.schedule).exclude(pk=world.occurrence.pk)
    assert later.exists()
    for occurrence in later:
        carried = RunSignup.objects.get(occurrence=occurrence, passenger=resident)
        assert (carried.state, carried.standing_id, carried.needs) == (
            SignupState.CONFIRMED,
            standing.pk,
            ["bags"],
        )
    # A new occurrence (the horizon moves on) gets it as it is created.
    settings.SHUTTLE_HORIZON_DAYS = 60
    new = occurrences_materialise(schedule=world.schedule)
    assert new
    for occurrence in new:
        assert RunSignup.objects.filter(
            occurrence=occurrence,
            passenger=resident,
            standing=standing,
            state=SignupState.CONFIRMED,
        ).exists()
    # Ended: the next new occurrences come without her.
    standing_end(actor=resident, standing=standing)
    settings.SHUTTLE_HORIZON_DAYS = 90
    newer = occurrences_materialise(schedule=world.schedule)
    assert newer
    assert not RunSignup.objects.filter(occurrence__in=newer).exists()


def test_a_standing_signup_on_a_full_occurrence_waits_in_line(world, settings):
    sign_up(world, world.residents[0], world.residents[0], standing=True)
    sign_up(world, world.residents[1], world.residents[1], standing=True)
    sign_up(world, world.residents[2], world.residents[2], standing=True, waitlist=True)
    later = RunOccurrence.objects.filter(schedule=world.schedule).exclude(pk=world.occurrence.pk)
    for occurrence in later:
        assert RunSignup.objects.get(occurrence=occurrence, passenger=world.residents[2]).state == (
            SignupState.WAITLISTED
        )


@pytest.mark.parametrize(
    ("extra", "code", "field"),
    [
        pytest.param({"needs": ["jetpack"]}, "run_value_invalid", "needs", id="unknown-need"),
        pytest.param(
            {"pickup": Point(18.07, 59.33, srid=4326), "pickup_address": "Stockholm"},
            "outside_area",
            "pickup",
            id="outside-municipality",
        ),
        pytest.param(
            # Inside the municipality but nearest to a village this run does not serve.
            {"pickup": Point(13.70, 60.90, srid=4326), "pickup_address": "Långt bort"},
            "village_not_served",
            "pickup",
            id="village-not-served",
        ),
    ],
)
def test_bad_signups_are_refused_and_nothing_is_written(world, extra, code, field):
    if code == "village_not_served":
        from tests.factories import VillageFactory

        far = VillageFactory(
            name="Äppelbo",
            municipality=world.association.municipality,
            location=Point(13.70, 60.90, srid=4326),
        )
        world.association.villages.add(far)
    with pytest.raises(ApplicationError) as error:
        sign_up(world, world.residents[0], world.residents[0], **extra)
    assert error.value.code == code
    assert list(error.value.fields) == [field]
    assert not RunSignup.objects.exists()
    assert RunOccurrence.objects.get(pk=world.occurrence.pk).seats_taken == 0


def test_someone_without_a_home_must_say_where_to_be_picked_up(world):
    resident = world.residents[0]
    resident.home_location = None
    resident.save()
    with pytest.raises(ApplicationError) as error:
        sign_up(world, resident, resident)
    assert error.value.code == "pickup_missing"
    ok = sign_up(world, resident, resident, pickup=HOMES[3], pickup_address="Hos grannen")
    assert ok.pickup_address == "Hos grannen"


def test_signing_up_twice_is_refused(world):
    sign_up(world, world.residents[0], world.residents[0])
    with pytest.raises(ApplicationError) as error:
        sign_up(world, world.coordinator, world.residents[0])
    assert error.value.code == "already_signed_up"
    assert RunOccurrence.objects.get(pk=world.occurrence.pk).seats_taken == 1


def test_a_proxy_who_has_not_said_yes_cannot_sign_up_and_gets_no_sms(world):
    from backend.accounts.models import ProxyLink
    from backend.shuttle.selectors import run_sheet

    ProxyLink.objects.filter(resident=world.managed).update(accepted_at=None)
    with pytest.raises(ApplicationError) as error:
        sign_up(world, world.daughter, world.managed)
    assert error.value.kind == "forbidden"
    sign_up(world, world.coordinator, world.managed)
    # Greta has no phone, and the daughter has not accepted: no SMS goes to her phone,
    # and the driver's sheet does not give her number.
    sms = Delivery.objects.get(notification__recipient=world.managed, channel=Channel.SMS)
    assert sms.address != world.daughter.phone
    sheet = run_sheet(viewer=world.coordinator, occurrence=world.occurrence)
    [greta] = [stop for stop in sheet.unplanned if stop.name == world.managed.full_name]
    assert greta.phone == ""
