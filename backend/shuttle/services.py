"""Shop runs: schedules, their occurrences, sign-ups with a waitlist, and cars.

Seats are counted on the occurrence (`seats_taken`) and taken with one conditional
UPDATE (`seats_take`): `... SET seats_taken = seats_taken + n WHERE seats_taken + n <=
capacity`. Two people taking the last seat at the same instant: the second UPDATE waits
for the first transaction's row lock, re-reads the row, finds no seat and updates
nothing, so that person is told the run is full (or put on the waitlist). The check
constraint `occurrence_seats_within_capacity` is the backstop.

Every change that moves the pickup order marks the occurrence `plan_stale` and counts up
its `plan_version` in the same UPDATE (`plan_stale_fields`); dispatch re-plans it after
commit (and a beat sweep catches any it missed). Planning holds a lease on the run
(`plan_lease_take`): one planner at a time, the flag stays set while it solves, and the
plan is saved only if the version it was made from is still current (`plan_save`).
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.community.models import Association, MembershipState, Role
from backend.community.selectors import user_can_act_for_in, user_is_coordinator
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.names import PersonName
from backend.notifications.reminders import reminder_cancel, reminder_schedule
from backend.notifications.services import ReplyRequest, notify
from backend.rides.models import DriverProfile, Need
from backend.rides.selectors import village_nearest
from backend.shuttle.errors import ShuttleErrorCode
from backend.shuttle.models import (
    ACTIVE_SIGNUP,
    HOLDS_SEAT,
    OccurrenceState,
    Outcome,
    RunOccurrence,
    RunSchedule,
    RunSignup,
    RunVehicle,
    SignupState,
    StandingSignup,
)
from backend.shuttle.recurrence import deadline_for, local_moment, parse_rule, rule_dates


def plan_stale_fields() -> dict:
    """The fields of an UPDATE of a run whose pickup order changed: stale, and a new
    version, so a plan being computed from the previous data is not saved."""
    return {"plan_stale": True, "plan_version": F("plan_version") + 1}


def _invalid(code: ShuttleErrorCode, message, field: str) -> ApplicationError:
    return ApplicationError(code, message, fields={field: [message]})


def _conflict(code: ShuttleErrorCode, message) -> ApplicationError:
    return ApplicationError(code, message, kind=ErrorKind.CONFLICT)


def _forbidden(message) -> ApplicationError:
    return ApplicationError(ShuttleErrorCode.NOT_ALLOWED, message, kind=ErrorKind.FORBIDDEN)


def local_time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _require_coordinator(actor: User, association: Association) -> None:
    if not user_is_coordinator(user=actor, association=association):
        raise _forbidden(_("Only a coordinator of the association can do this."))


# --- Schedules and occurrences ------------------------------------------------------------


@transaction.atomic
def schedule_create(
    *,
    actor: User,
    association: Association,
    name: str,
    rrule: str,
    starts_on: date,
    arrive_at: time,
    leave_at: time,
    destination: Point,
    destination_name: str,
    deadline_time: time,
    ends_on: date | None = None,
    village_ids: list[int] | None = None,
    seats_per_vehicle: int = 4,
    max_vehicles: int = 2,
    deadline_days: int = 1,
) -> RunSchedule:
    """A coordinator sets up a recurring run; its occurrences for the coming
    SHUTTLE_HORIZON_DAYS are created at once."""
    _require_coordinator(actor, association)
    parse_rule(rrule, starts_on=starts_on)
    if arrive_at >= leave_at:
        raise _invalid(
            ShuttleErrorCode.TIMES_INVALID,
            _("The run must leave the shop after it arrives. Swap the two times."),
            "leave_at",
        )
    if ends_on is not None and ends_on < starts_on:
        raise _invalid(
            ShuttleErrorCode.TIMES_INVALID, _("The last day is before the first day."), "ends_on"
        )
    if starts_on < timezone.localdate():
        raise _invalid(ShuttleErrorCode.TIMES_INVALID, _("The first day has passed."), "starts_on")
    for field, value, low, high in (
        ("seats_per_vehicle", seats_per_vehicle, 1, 8),
        ("max_vehicles", max_vehicles, 1, 4),
        ("deadline_days", deadline_days, 0, 14),
    ):
        if not low <= value <= high:
            raise _invalid(
                ShuttleErrorCode.VALUE_INVALID,
                _("Give a number from %(low)s to %(high)s.") % {"low": low, "high": high},
                field,
            )
    if not association.municipality.boundary.contains(destination):
        raise _invalid(
            ShuttleErrorCode.OUTSIDE_AREA,
            _("The shop is outside %(municipality)s.")
            % {"municipality": association.municipality.name},
            "destination",
        )
    villages = list(association.villages.filter(pk__in=village_ids or []))
    if len(villages) != len(set(village_ids or [])):
        raise _invalid(
            ShuttleErrorCode.VALUE_INVALID,
            _("Choose villages the association serves."),
            "villages",
        )
    schedule = RunSchedule.objects.create(
        association=association,
        name=name.strip(),
        rrule=rrule.strip().removeprefix("RRULE:"),
        starts_on=starts_on,
        ends_on=ends_on,
        arrive_at=arrive_at,
        leave_at=leave_at,
        destination=destination,
        destination_name=destination_name.strip(),
        seats_per_vehicle=seats_per_vehicle,
        max_vehicles=max_vehicles,
        deadline_days=deadline_days,
        deadline_time=deadline_time,
        created_by=actor,
    )
    schedule.villages.set(villages)
    occurrences_materialise(schedule=schedule)
    return schedule


@transaction.atomic
def schedule_stop(*, actor: User, schedule: RunSchedule) -> RunSchedule:
    """A coordinator stops a recurring run: no new dates are made from it (the daily
    materialising and the open data feed skip it). Dates already made stay as they are,
    with their sign-ups; each is cancelled on its own (`occurrence_cancel`), which tells
    the people signed up. Locks the schedule's row."""
    _require_coordinator(actor, schedule.association)
    schedule = RunSchedule.objects.select_for_update().get(pk=schedule.pk)
    if not schedule.active:
        raise _conflict(ShuttleErrorCode.RUN_NOT_OPEN, _("This shop run is already stopped."))
    schedule.active = False
    schedule.save(update_fields=["active"])
    return schedule


def occurrences_materialise(
    *, schedule: RunSchedule, today: date | None = None
) -> list[RunOccurrence]:
    """Create the schedule's occurrences from today to SHUTTLE_HORIZON_DAYS ahead that do
    not exist yet, and put the standing sign-ups on each new one. Safe to run twice: an
    occurrence is unique per rule date, and one that exists (moved or cancelled) is left
    as it is."""
    today = today or timezone.localdate()
    end = today + timedelta(days=settings.SHUTTLE_HORIZON_DAYS)
    if schedule.ends_on is not None:
        end = min(end, schedule.ends_on)
    if not schedule.active or end < today:
        return []
    rule = parse_rule(schedule.rrule, starts_on=schedule.starts_on)
    days = rule_dates(rule, start=max(today, schedule.starts_on), end=end)
    now = timezone.now()
    created = []
    with transaction.atomic():
        existing = set(
            RunOccurrence.objects.filter(schedule=schedule, rule_date__in=days).values_list(
                "rule_date", flat=True
            )
        )
        for day in days:
            if day in existing:
                continue
            arrive = local_moment(day, schedule.arrive_at)
            if arrive <= now:
                continue
            occurrence = RunOccurrence.objects.create(
                schedule=schedule,
                association_id=schedule.association_id,
                rule_date=day,
                arrive_at=arrive,
                leave_at=local_moment(day, schedule.leave_at),
                signup_deadline=deadline_for(
                    day, days_before=schedule.deadline_days, at=schedule.deadline_time
                ),
                capacity=schedule.seats_per_vehicle * schedule.max_vehicles,
            )
            created.append(occurrence)
        standing = list(StandingSignup.objects.filter(schedule=schedule, active=True))
        for occurrence in created:
            for entry in standing:
                _standing_apply(entry, occurrence)
    return created


def occurrences_materialise_all(*, today: date | None = None) -> int:
    """Beat, daily: every active schedule's occurrences for the horizon."""
    return sum(
        len(occurrences_materialise(schedule=schedule, today=today))
        for schedule in RunSchedule.objects.filter(active=True).select_related("association")
    )


def _locked_occurrence(occurrence: RunOccurrence) -> RunOccurrence:
    return (
        RunOccurrence.objects.select_for_update(of=("self",))
        .select_related("schedule")
        .get(pk=occurrence.pk)
    )


def _people_to_tell(occurrence: RunOccurrence) -> list[tuple[User, str]]:
    """Everyone signed up (and who signed them up), and the drivers: (person, name of
    the passenger or '')."""
    people: dict[int, tuple[User, str]] = {}
    signups = RunSignup.objects.filter(
        occurrence=occurrence, state__in=ACTIVE_SIGNUP
    ).select_related("passenger", "signed_up_by")
    for signup in signups:
        for person in (signup.passenger, signup.signed_up_by):
            people.setdefault(person.pk, (person, signup.passenger.full_name))
    for vehicle in RunVehicle.objects.filter(occurrence=occurrence).select_related(
        "driver__membership__user"
    ):
        user = vehicle.driver.membership.user
        people.setdefault(user.pk, (user, ""))
    return list(people.values())


@transaction.atomic
def occurrence_cancel(*, actor: User, occurrence: RunOccurrence, reason: str) -> RunOccurrence:
    """A coordinator cancels one run; everyone signed up and the drivers are told."""
    _require_coordinator(actor, occurrence.association)
    occurrence = _locked_occurrence(occurrence)
    if occurrence.state != OccurrenceState.SCHEDULED:
        raise _conflict(ShuttleErrorCode.RUN_NOT_OPEN, _("This run is already cancelled or done."))
    if occurrence.arrive_at <= timezone.now():
        raise _conflict(ShuttleErrorCode.RUN_NOT_OPEN, _("This run has already started."))
    tell = _people_to_tell(occurrence)
    RunOccurrence.objects.filter(pk=occurrence.pk).update(
        state=OccurrenceState.CANCELLED, state_reason=reason.strip(), plan_stale=False
    )
    _cancel_reminders(occurrence)
    # The run's id takes its drivers to their run sheet.
    payload = {
        "when": local_time(occurrence.arrive_at),
        "reason": reason.strip(),
        "run": occurrence.pk,
    }
    for person, _name in tell:
        notify(person, "shuttle.run_cancelled", payload, urgent=True)
    occurrence.refresh_from_db()
    return occurrence


@transaction.atomic
def occurrence_move(
    *, actor: User, occurrence: RunOccurrence, arrive_at: datetime, leave_at: datetime
) -> RunOccurrence:
    """A coordinator moves one run to other times (another day, too). Sign-ups stay;
    the sign-up deadline moves along; a driver who cannot make the new time is taken
    off the run. Everyone signed up and the drivers are told."""
    _require_coordinator(actor, occurrence.association)
    occurrence = _locked_occurrence(occurrence)
    if occurrence.state != OccurrenceState.SCHEDULED:
        raise _conflict(ShuttleErrorCode.RUN_NOT_OPEN, _("This run is already cancelled or done."))
    if arrive_at >= leave_at:
        raise _invalid(
            ShuttleErrorCode.TIMES_INVALID,
            _("The run must leave the shop after it arrives. Swap the two times."),
            "leave_at",
        )
    if arrive_at <= timezone.now():
        raise _invalid(
            ShuttleErrorCode.TIMES_INVALID,
            _("The new time has passed. Choose a later one."),
            "arrive_at",
        )
    if leave_at - arrive_at > timedelta(hours=12):
        raise _invalid(
            ShuttleErrorCode.TIMES_INVALID,
            _("A run stays at the shop at most 12 hours."),
            "leave_at",
        )
    old = occurrence.arrive_at
    shift = arrive_at - old
    schedule = occurrence.schedule
    RunOccurrence.objects.filter(pk=occurrence.pk).update(
        arrive_at=arrive_at,
        leave_at=leave_at,
        signup_deadline=deadline_for(
            timezone.localtime(arrive_at).date(),
            days_before=schedule.deadline_days,
            at=schedule.deadline_time,
        ),
        moved_at=timezone.now(),
        **plan_stale_fields(),
    )
    dropped = []
    for vehicle in RunVehicle.objects.filter(occurrence=occurrence).select_related(
        "driver__membership__user"
    ):
        busy = DateTimeTZRange(vehicle.busy.lower + shift, vehicle.busy.upper + shift)
        try:
            with transaction.atomic():
                RunVehicle.objects.filter(pk=vehicle.pk).update(busy=busy)
        except IntegrityError:
            dropped.append(vehicle)
    payload = {"old": local_time(old), "when": local_time(arrive_at), "run": occurrence.pk}
    for person, _name in _people_to_tell(occurrence):
        notify(person, "shuttle.run_moved", payload, urgent=True)
    for vehicle in dropped:
        reminder_cancel(key=_vehicle_reminder_key(vehicle.pk))
        RunSignup.objects.filter(vehicle=vehicle).update(vehicle=None)
        vehicle.delete()
        notify(
            vehicle.driver.membership.user,
            "shuttle.vehicle_released",
            {"when": local_time(arrive_at)},
            urgent=True,
        )
    occurrence.refresh_from_db()
    return occurrence


# --- Sign-ups --------------------------------------------------------------------------------


def seats_take(*, occurrence_id: int, seats: int) -> bool:
    """Take `seats` if the occurrence still has them: one conditional UPDATE (see the
    module docstring). Returns whether they were taken."""
    return bool(
        RunOccurrence.objects.filter(
            pk=occurrence_id,
            state=OccurrenceState.SCHEDULED,
            seats_taken__lte=F("capacity") - seats,
        ).update(seats_taken=F("seats_taken") + seats, **plan_stale_fields())
    )


def _seats_release(occurrence_id: int, seats: int) -> None:
    RunOccurrence.objects.filter(pk=occurrence_id).update(
        seats_taken=F("seats_taken") - seats, **plan_stale_fields()
    )


def _seats_for(needs: list[str]) -> int:
    return 2 if Need.COMPANION in needs else 1


def _check_pickup(occurrence: RunOccurrence, point: Point) -> None:
    association = occurrence.association
    if not association.municipality.boundary.contains(point):
        raise _invalid(
            ShuttleErrorCode.OUTSIDE_AREA,
            _("This place is outside %(municipality)s, where %(association)s drives.")
            % {"municipality": association.municipality.name, "association": association.name},
            "pickup",
        )
    served = set(occurrence.schedule.villages.values_list("pk", flat=True))
    if not served:
        return
    village = village_nearest(association=association, point=point)
    if village is None or village.pk not in served:
        raise _invalid(
            ShuttleErrorCode.VILLAGE_NOT_SERVED,
            _("This run does not come to %(village)s. Ask the association about another run.")
            % {"village": village.name if village else _("this place")},
            "pickup",
        )


def _require_can_sign_up(actor: User, passenger: User, occurrence: RunOccurrence) -> bool:
    """Returns whether `actor` coordinates the association."""
    coordinator = user_is_coordinator(user=actor, association=occurrence.association)
    if not (
        coordinator
        or user_can_act_for_in(
            actor=actor, resident=passenger, association_id=occurrence.association_id
        )
    ):
        raise _forbidden(_("You cannot sign up this person."))
    member = passenger.memberships.filter(
        association=occurrence.association, state=MembershipState.ACTIVE
    ).exists()
    if not member:
        raise ApplicationError(
            ShuttleErrorCode.NOT_MEMBER,
            _("%(name)s is not an active member of %(association)s. Call the association.")
            % {"name": passenger.full_name, "association": occurrence.association.name},
            kind=ErrorKind.FORBIDDEN,
        )
    return coordinator


def _check_open(occurrence: RunOccurrence, *, coordinator: bool) -> None:
    now = timezone.now()
    if occurrence.state != OccurrenceState.SCHEDULED:
        raise _conflict(
            ShuttleErrorCode.RUN_NOT_OPEN,
            _("This run is %(state)s.") % {"state": occurrence.get_state_display()},
        )
    if occurrence.arrive_at <= now:
        raise _conflict(ShuttleErrorCode.RUN_NOT_OPEN, _("This run has already gone."))
    # A coordinator taking a phone call may still add someone after the deadline; the
    # driver sees them on the run sheet.
    if now > occurrence.signup_deadline and not coordinator:
        raise _conflict(
            ShuttleErrorCode.DEADLINE_PASSED,
            _(
                "Sign-up for this run closed %(deadline)s. Call the association if you still "
                "need to come along."
            )
            % {"deadline": local_time(occurrence.signup_deadline)},
        )


@transaction.atomic
def signup_create(
    *,
    actor: User,
    occurrence: RunOccurrence,
    passenger: User,
    pickup: Point | None = None,
    pickup_address: str = "",
    needs: list[str] | None = None,
    note: str = "",
    standing: bool = False,
    waitlist: bool = False,
) -> RunSignup:
    """Sign `passenger` up: by themself, a proxy or a coordinator. The pickup is their
    home unless given. When the run is full: on the waitlist if `waitlist`, else a 409
    `run_full` and nothing is written. `standing` also signs them up for every later
    occurrence of the schedule until they end it."""
    occurrence = RunOccurrence.objects.select_related("schedule", "association__municipality").get(
        pk=occurrence.pk
    )
    coordinator = _require_can_sign_up(actor, passenger, occurrence)
    _check_open(occurrence, coordinator=coordinator)
    needs = sorted(set(needs or []))
    if set(needs) - set(Need.values):
        raise _invalid(ShuttleErrorCode.VALUE_INVALID, _("Unknown need."), "needs")
    if pickup is None:
        if passenger.home_location is None:
            raise _invalid(
                ShuttleErrorCode.NO_PICKUP,
                _("%(name)s has no home address in Samby. Say where to pick them up.")
                % {"name": passenger.full_name},
                "pickup",
            )
        pickup, pickup_address = passenger.home_location, passenger.home_address
    _check_pickup(occurrence, pickup)
    if RunSignup.objects.filter(
        occurrence=occurrence, passenger=passenger, state__in=ACTIVE_SIGNUP
    ).exists():
        raise _conflict(
            ShuttleErrorCode.ALREADY_SIGNED_UP,
            _("%(name)s is already signed up for this run.") % {"name": passenger.full_name},
        )
    standing_entry = None
    if standing:
        standing_entry = _standing_create(
            actor, occurrence.schedule, passenger, pickup, pickup_address, needs, note
        )
    signup = _signup_add(
        occurrence,
        passenger=passenger,
        signed_up_by=actor,
        pickup=pickup,
        pickup_address=pickup_address,
        needs=needs,
        note=note,
        standing=standing_entry,
        waitlist=waitlist,
    )
    if standing_entry is not None:
        later = RunOccurrence.objects.filter(
            schedule=occurrence.schedule,
            state=OccurrenceState.SCHEDULED,
            arrive_at__gt=occurrence.arrive_at,
            signup_deadline__gt=timezone.now(),
        )
        for other in later:
            _standing_apply(standing_entry, other)
    return signup


def _standing_create(actor, schedule, passenger, pickup, pickup_address, needs, note):
    try:
        with transaction.atomic():
            return StandingSignup.objects.create(
                schedule=schedule,
                passenger=passenger,
                signed_up_by=actor,
                pickup=pickup,
                pickup_address=pickup_address.strip(),
                needs=needs,
                note=note.strip(),
            )
    except IntegrityError:
        raise _conflict(
            ShuttleErrorCode.ALREADY_SIGNED_UP,
            _("%(name)s already comes along every time. End that first to change it.")
            % {"name": passenger.full_name},
        ) from None


def _signup_add(
    occurrence: RunOccurrence,
    *,
    passenger: User,
    signed_up_by: User,
    pickup: Point,
    pickup_address: str,
    needs: list[str],
    note: str,
    standing: StandingSignup | None,
    waitlist: bool,
) -> RunSignup:
    seats = _seats_for(needs)
    if seats_take(occurrence_id=occurrence.pk, seats=seats):
        state = SignupState.CONFIRMED
    elif waitlist:
        state = SignupState.WAITLISTED
    else:
        raise _conflict(
            ShuttleErrorCode.RUN_FULL,
            _("The run %(when)s is full. Join the waitlist and you are told if a seat frees up.")
            % {"when": local_time(occurrence.arrive_at)},
        )
    try:
        with transaction.atomic():
            signup = RunSignup.objects.create(
                occurrence=occurrence,
                passenger=passenger,
                signed_up_by=signed_up_by,
                standing=standing,
                pickup=pickup,
                pickup_address=pickup_address.strip(),
                needs=needs,
                note=note.strip(),
                seats=seats,
                state=state,
            )
    except IntegrityError:
        # The same person signed up twice at the same instant: the database kept one.
        raise _conflict(
            ShuttleErrorCode.ALREADY_SIGNED_UP,
            _("%(name)s is already signed up for this run.") % {"name": passenger.full_name},
        ) from None
    payload = {"name": PersonName.of(passenger), "when": local_time(occurrence.arrive_at)}
    if state == SignupState.WAITLISTED:
        payload["position"] = RunSignup.objects.filter(
            occurrence=occurrence, state=SignupState.WAITLISTED, created_at__lte=signup.created_at
        ).count()
    _tell(
        signup,
        "shuttle.signed_up" if state == SignupState.CONFIRMED else "shuttle.waitlisted",
        payload,
    )
    return signup


def _standing_apply(entry: StandingSignup, occurrence: RunOccurrence) -> RunSignup | None:
    """Put a standing sign-up on an occurrence: a seat if there is one, else the
    waitlist. Nothing when the person is already on it."""
    if RunSignup.objects.filter(
        occurrence=occurrence, passenger_id=entry.passenger_id, state__in=ACTIVE_SIGNUP
    ).exists():
        return None
    return _signup_add(
        occurrence,
        passenger=entry.passenger,
        signed_up_by=entry.signed_up_by or entry.passenger,
        pickup=entry.pickup,
        pickup_address=entry.pickup_address,
        needs=list(entry.needs),
        note=entry.note,
        standing=entry,
        waitlist=True,
    )


def _tell(signup: RunSignup, kind: str, payload: dict, *, urgent: bool = False, reply=None) -> None:
    """The passenger, and who signed them up when that is someone else."""
    notify(signup.passenger, kind, payload, urgent=urgent, reply=reply)
    if signup.signed_up_by_id != signup.passenger_id:
        notify(signup.signed_up_by, kind, payload, urgent=urgent)


def _require_can_change(actor: User, signup: RunSignup) -> None:
    if not (
        user_can_act_for_in(
            actor=actor,
            resident=signup.passenger,
            association_id=signup.occurrence.association_id,
        )
        or user_is_coordinator(user=actor, association=signup.occurrence.association)
    ):
        raise _forbidden(_("You cannot change this sign-up."))


def signup_cancellable(signup: RunSignup) -> bool:
    """Whether `signup_cancel` can still cancel it: active, and its run not gone yet."""
    return signup.state in ACTIVE_SIGNUP and signup.occurrence.arrive_at > timezone.now()


@transaction.atomic
def signup_cancel(*, actor: User, signup: RunSignup) -> RunSignup:
    """The passenger, their proxy or a coordinator cancels (`signup_cancellable`); a seat
    it held goes to the first on the waitlist."""
    _require_can_change(actor, signup)
    if signup.occurrence.arrive_at <= timezone.now():
        raise _conflict(ShuttleErrorCode.RUN_NOT_OPEN, _("This run has already gone."))
    previous = RunSignup.objects.filter(pk=signup.pk).values_list("state", flat=True).first()
    updated = RunSignup.objects.filter(pk=signup.pk, state__in=ACTIVE_SIGNUP).update(
        state=SignupState.CANCELLED, cancelled_at=timezone.now(), vehicle=None
    )
    if not updated:
        raise _conflict(
            ShuttleErrorCode.SIGNUP_WRONG_STATE, _("This sign-up is already cancelled.")
        )
    reminder_cancel(key=_signup_reminder_key(signup.pk))
    if previous in HOLDS_SEAT:
        _seats_release(signup.occurrence_id, signup.seats)
        waitlist_offer_seats(occurrence_id=signup.occurrence_id)
    signup.refresh_from_db()
    # Told like the sign-up was: a coordinator may have cancelled it on the phone, and
    # the passenger's relative who signed them up should know too.
    _tell(
        signup,
        "shuttle.signup_cancelled",
        {
            "name": PersonName.of(signup.passenger),
            "when": local_time(signup.occurrence.arrive_at),
        },
    )
    return signup


@transaction.atomic
def standing_end(*, actor: User, standing: StandingSignup) -> StandingSignup:
    """No more "every week": later occurrences are no longer filled in. Sign-ups already
    made stay (cancel them one by one)."""
    if not (
        user_can_act_for_in(
            actor=actor,
            resident=standing.passenger,
            association_id=standing.schedule.association_id,
        )
        or user_is_coordinator(user=actor, association=standing.schedule.association)
    ):
        raise _forbidden(_("You cannot change this sign-up."))
    updated = StandingSignup.objects.filter(pk=standing.pk, active=True).update(
        active=False, ended_at=timezone.now()
    )
    if not updated:
        raise _conflict(ShuttleErrorCode.SIGNUP_WRONG_STATE, _("This has already ended."))
    standing.refresh_from_db()
    return standing


def waitlist_offer_seats(*, occurrence_id: int) -> list[RunSignup]:
    """Offer free seats to the waitlist, first come first served: the seat is held for
    SHUTTLE_SEAT_OFFER_HOURS (or until shortly before the run) while they answer. Each
    waitlisted row is claimed with SKIP LOCKED, so two seats freed at once go to two
    people."""
    occurrence = RunOccurrence.objects.get(pk=occurrence_id)
    now = timezone.now()
    pickup_window = timedelta(minutes=settings.SHUTTLE_PICKUP_WINDOW_MINUTES)
    expires = min(
        now + timedelta(hours=settings.SHUTTLE_SEAT_OFFER_HOURS),
        occurrence.arrive_at - pickup_window - timedelta(hours=1),
    )
    if expires <= now or occurrence.state != OccurrenceState.SCHEDULED:
        return []
    offered = []
    with transaction.atomic():
        waiting = (
            # The signups only: with the people's account rows locked too, a signup
            # whose passenger something else referred to at that moment was skipped.
            RunSignup.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("passenger", "signed_up_by")
            .filter(occurrence_id=occurrence_id, state=SignupState.WAITLISTED)
            .order_by("created_at", "pk")
        )
        for signup in waiting:
            if not seats_take(occurrence_id=occurrence_id, seats=signup.seats):
                continue
            RunSignup.objects.filter(pk=signup.pk).update(
                state=SignupState.OFFERED, offer_expires_at=expires
            )
            _tell(
                signup,
                "shuttle.seat_offered",
                {
                    "name": PersonName.of(signup.passenger),
                    "when": local_time(occurrence.arrive_at),
                    "until": local_time(expires),
                },
                urgent=True,
                reply=ReplyRequest("shuttle.seat", signup.pk, valid_for=expires - now),
            )
            offered.append(signup)
    return offered


@transaction.atomic
def seat_offer_answer(*, actor: User, signup: RunSignup, accept: bool) -> RunSignup:
    """Yes: the held seat is theirs. No: their sign-up ends and the seat goes to the next."""
    _require_can_change(actor, signup)
    now = timezone.now()
    if accept:
        updated = RunSignup.objects.filter(
            pk=signup.pk, state=SignupState.OFFERED, offer_expires_at__gt=now
        ).update(state=SignupState.CONFIRMED, offer_expires_at=None)
    else:
        updated = RunSignup.objects.filter(pk=signup.pk, state=SignupState.OFFERED).update(
            state=SignupState.CANCELLED, cancelled_at=now, offer_expires_at=None
        )
    if not updated:
        raise _conflict(
            ShuttleErrorCode.SIGNUP_WRONG_STATE,
            _("This seat is no longer offered to you. You may still be on the waitlist."),
        )
    if not accept:
        _seats_release(signup.occurrence_id, signup.seats)
        waitlist_offer_seats(occurrence_id=signup.occurrence_id)
    signup.refresh_from_db()
    return signup


def seat_offers_expire(*, now: datetime | None = None) -> int:
    """Beat: seats offered and not taken in time go to the next on the waitlist."""
    now = now or timezone.now()
    expired = 0
    for signup_id in RunSignup.objects.filter(
        state=SignupState.OFFERED, offer_expires_at__lte=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            signup = (
                RunSignup.objects.select_for_update()
                .filter(pk=signup_id, state=SignupState.OFFERED, offer_expires_at__lte=now)
                .first()
            )
            if signup is None:
                continue
            RunSignup.objects.filter(pk=signup.pk).update(
                state=SignupState.CANCELLED, cancelled_at=now, offer_expires_at=None
            )
            _seats_release(signup.occurrence_id, signup.seats)
            waitlist_offer_seats(occurrence_id=signup.occurrence_id)
            expired += 1
    return expired


# --- Cars ---------------------------------------------------------------------------------


def vehicle_busy_range(occurrence: RunOccurrence) -> DateTimeTZRange:
    """The driver's time for the run: from the earliest pickup (and a little before, to
    get there) until well after the shop closes the run (the way home, bags carried in)."""
    window = timedelta(minutes=settings.SHUTTLE_PICKUP_WINDOW_MINUTES + 15)
    return DateTimeTZRange(
        occurrence.arrive_at - window, occurrence.leave_at + timedelta(minutes=60)
    )


def vehicles_needed(occurrence: RunOccurrence, vehicles: list[RunVehicle]) -> bool:
    """Whether another car is needed: none yet, or the cars' seats do not cover the seats
    signed up."""
    return not vehicles or sum(v.seats for v in vehicles) < occurrence.seats_taken


@transaction.atomic
def vehicle_add(
    *,
    occurrence: RunOccurrence,
    driver: DriverProfile,
    actor: User,
    by_coordinator: bool,
) -> RunVehicle:
    """Put a driver's car on the run. Locks the occurrence row, so two drivers taking the
    one car still needed at the same instant: the first gets it, the second a 409. The
    exclusion constraint refuses a driver who already drives another run then."""
    occurrence = _locked_occurrence(occurrence)
    if occurrence.state != OccurrenceState.SCHEDULED or occurrence.arrive_at <= timezone.now():
        raise _conflict(ShuttleErrorCode.RUN_NOT_OPEN, _("This run is no longer open."))
    membership = driver.membership
    if (
        membership.association_id != occurrence.association_id
        or membership.state != MembershipState.ACTIVE
        or Role.DRIVER not in membership.roles
        or not driver.active
    ):
        raise _invalid(
            ShuttleErrorCode.NOT_DRIVER,
            _("%(name)s is not an active driver of this association.")
            % {"name": membership.user.full_name},
            "driver",
        )
    vehicles = list(RunVehicle.objects.filter(occurrence=occurrence))
    if any(v.driver_id == driver.pk for v in vehicles):
        raise _conflict(ShuttleErrorCode.ALREADY_SIGNED_UP, _("You already drive this run."))
    if len(vehicles) >= occurrence.schedule.max_vehicles or not vehicles_needed(
        occurrence, vehicles
    ):
        raise _conflict(
            ShuttleErrorCode.NO_CAR_NEEDED,
            _("This run already has the cars it needs. Thank you for answering!"),
        )
    try:
        with transaction.atomic():
            vehicle = RunVehicle.objects.create(
                occurrence=occurrence,
                driver=driver,
                seats=min(driver.seats, occurrence.schedule.seats_per_vehicle),
                busy=vehicle_busy_range(occurrence),
                assigned_by=actor if by_coordinator else None,
            )
    except IntegrityError:
        raise _conflict(
            ShuttleErrorCode.DRIVER_BUSY,
            _("%(name)s already drives another run at that time.")
            % {"name": membership.user.full_name},
        ) from None
    RunOccurrence.objects.filter(pk=occurrence.pk).update(**plan_stale_fields())
    if by_coordinator:
        notify(
            membership.user,
            "shuttle.run_assigned",
            {
                "when": local_time(occurrence.arrive_at),
                "shop": occurrence.schedule.destination_name,
                "run": occurrence.pk,
            },
            urgent=True,
        )
    return vehicle


@transaction.atomic
def vehicle_withdraw(*, actor: User, vehicle: RunVehicle) -> None:
    """The driver (or a coordinator) takes the car off the run; its passengers go back
    to the plan of the remaining cars (or wait for another driver)."""
    occurrence = vehicle.occurrence
    if actor.pk != vehicle.driver.membership.user_id and not user_is_coordinator(
        user=actor, association=occurrence.association
    ):
        raise _forbidden(_("Only the driver or a coordinator can do this."))
    reminder_cancel(key=_vehicle_reminder_key(vehicle.pk))
    RunSignup.objects.filter(vehicle=vehicle).update(vehicle=None)
    RunVehicle.objects.filter(pk=vehicle.pk).delete()
    RunOccurrence.objects.filter(pk=occurrence.pk).update(**plan_stale_fields())


# --- The plan and the day of the run ---------------------------------------------------------


def _signup_reminder_key(signup_id: int) -> str:
    return f"shuttle:signup:{signup_id}:day-before"


def _vehicle_reminder_key(vehicle_id: int) -> str:
    return f"shuttle:vehicle:{vehicle_id}:evening-before"


def reminder_due(occurrence: RunOccurrence) -> datetime:
    """The day before at SHUTTLE_REMINDER_TIME, and never before sign-up has closed (the
    pickup times are final then)."""
    hour, minute = (int(part) for part in settings.SHUTTLE_REMINDER_TIME.split(":"))
    day = timezone.localtime(occurrence.arrive_at).date() - timedelta(days=1)
    return max(local_moment(day, time(hour, minute)), occurrence.signup_deadline)


def _cancel_reminders(occurrence: RunOccurrence) -> None:
    for signup_id in RunSignup.objects.filter(occurrence=occurrence).values_list("pk", flat=True):
        reminder_cancel(key=_signup_reminder_key(signup_id))
    for vehicle_id in RunVehicle.objects.filter(occurrence=occurrence).values_list("pk", flat=True):
        reminder_cancel(key=_vehicle_reminder_key(vehicle_id))


@dataclass(frozen=True)
class PlanLease:
    """A planner's hold on a run: the token it holds the lease with and the plan version
    its data is read at."""

    occurrence_id: int
    token: uuid.UUID
    version: int


@transaction.atomic
def plan_lease_take(*, occurrence_id: int) -> PlanLease | None:
    """Start planning a stale, scheduled run: hold its lease for SHUTTLE_PLAN_LEASE_SECONDS
    and note the version. None when the plan is fresh or another planner holds an
    unexpired lease (that planner sees any change made meanwhile when it saves). The flag
    stays set until a plan is saved, so a planner that dies leaves the run stale, and the
    beat sweep plans it once the lease has expired. Locks the occurrence row, so the
    version read is the one the lease is taken at."""
    now = timezone.now()
    occurrence = (
        RunOccurrence.objects.select_for_update()
        .filter(pk=occurrence_id, plan_stale=True, state=OccurrenceState.SCHEDULED)
        .first()
    )
    if occurrence is None or (
        occurrence.plan_lease_until is not None and occurrence.plan_lease_until > now
    ):
        return None
    token = uuid.uuid4()
    RunOccurrence.objects.filter(pk=occurrence_id).update(
        plan_lease_token=token,
        plan_lease_until=now + timedelta(seconds=settings.SHUTTLE_PLAN_LEASE_SECONDS),
    )
    return PlanLease(occurrence_id=occurrence_id, token=token, version=occurrence.plan_version)


def plan_lease_release(*, lease: PlanLease) -> None:
    """Give the lease back without a plan (the solve failed): the run stays stale."""
    RunOccurrence.objects.filter(pk=lease.occurrence_id, plan_lease_token=lease.token).update(
        plan_lease_token=None, plan_lease_until=None
    )


@transaction.atomic
def plan_save(
    *,
    lease: PlanLease,
    stops: list[tuple[int, int | None, int, int, datetime]],
    vehicle_km: dict[int, float],
    total_km: float | None,
    problem: str,
) -> bool:
    """Store a pickup order: `stops` are (signup id, vehicle id or None, car number,
    order, estimated pickup). Locks the occurrence. Saved, the run is fresh and the lease
    given back. Dropped (returns False): a plan made from data that changed meanwhile
    (`plan_version` moved on; the lease is given back and the run stays stale, to be
    planned again), or by a planner whose lease another one has taken over since. Schedules
    each passenger's and driver's day-before reminder with the times (moving one not yet
    sent)."""
    occurrence = (
        RunOccurrence.objects.select_for_update(of=("self",))
        .select_related("schedule")
        .get(pk=lease.occurrence_id)
    )
    if occurrence.plan_lease_token != lease.token:
        return False
    if occurrence.plan_version != lease.version or occurrence.state != OccurrenceState.SCHEDULED:
        RunOccurrence.objects.filter(pk=occurrence.pk).update(
            plan_lease_token=None, plan_lease_until=None
        )
        return False
    now = timezone.now()
    RunSignup.objects.filter(occurrence=occurrence).update(
        vehicle=None, car_number=None, stop_order=None, estimated_pickup=None
    )
    planned = {signup_id for signup_id, *_rest in stops}
    seated = RunSignup.objects.filter(
        occurrence=occurrence, state__in=HOLDS_SEAT, pk__in=planned
    ).select_related("passenger")
    by_id = {signup.pk: signup for signup in seated}
    for signup_id, vehicle_id, car_number, order, at in stops:
        if signup_id not in by_id:
            continue
        RunSignup.objects.filter(pk=signup_id).update(
            vehicle_id=vehicle_id, car_number=car_number, stop_order=order, estimated_pickup=at
        )
    for vehicle_id, km in vehicle_km.items():
        RunVehicle.objects.filter(pk=vehicle_id, occurrence=occurrence).update(plan_km=km)
    RunOccurrence.objects.filter(pk=occurrence.pk).update(
        planned_at=now,
        plan_km=total_km,
        plan_problem=problem,
        plan_stale=False,
        plan_lease_token=None,
        plan_lease_until=None,
    )
    due = max(reminder_due(occurrence), now)
    shop = occurrence.schedule.destination_name
    for signup_id, _vehicle, _car, _order, at in stops:
        signup = by_id.get(signup_id)
        if signup is None or signup.state != SignupState.CONFIRMED:
            continue
        reminder_schedule(
            key=_signup_reminder_key(signup.pk),
            recipient=signup.passenger,
            kind="shuttle.reminder",
            payload={
                "when": local_time(occurrence.arrive_at),
                "shop": shop,
                "pickup": timezone.localtime(at).strftime("%H:%M"),
                "address": signup.pickup_address,
            },
            due_at=due,
        )
    first_pickup: dict[int, datetime] = {}
    count: dict[int, int] = {}
    for _signup, vehicle_id, _car, _order, at in stops:
        if vehicle_id is None:
            continue
        first_pickup[vehicle_id] = min(at, first_pickup.get(vehicle_id, at))
        count[vehicle_id] = count.get(vehicle_id, 0) + 1
    for vehicle in RunVehicle.objects.filter(occurrence=occurrence).select_related(
        "driver__membership__user"
    ):
        if vehicle.pk not in first_pickup:
            continue
        reminder_schedule(
            key=_vehicle_reminder_key(vehicle.pk),
            recipient=vehicle.driver.membership.user,
            kind="shuttle.driver_reminder",
            payload={
                "when": local_time(occurrence.arrive_at),
                "shop": shop,
                "stops": count[vehicle.pk],
                "first": timezone.localtime(first_pickup[vehicle.pk]).strftime("%H:%M"),
                "url": f"{settings.SITE_URL}/shuttle/runs/{occurrence.pk}/sheet",
                "run": occurrence.pk,
            },
            due_at=due,
        )
    return True


@transaction.atomic
def signup_mark(*, actor: User, signup: RunSignup, outcome: str) -> RunSignup:
    """On the way: the driver of the passenger's car (or a coordinator) marks them picked
    up or not home."""
    if outcome not in Outcome.values:
        raise _invalid(
            ShuttleErrorCode.VALUE_INVALID, _("Choose picked up or not home."), "outcome"
        )
    vehicle = signup.vehicle
    is_driver = vehicle is not None and vehicle.driver.membership.user_id == actor.pk
    if not (
        is_driver or user_is_coordinator(user=actor, association=signup.occurrence.association)
    ):
        raise _forbidden(_("Only the driver of this car can mark the stop."))
    if signup.state != SignupState.CONFIRMED:
        raise _conflict(
            ShuttleErrorCode.SIGNUP_WRONG_STATE, _("This person has no seat on the run.")
        )
    RunSignup.objects.filter(pk=signup.pk).update(outcome=outcome, outcome_at=timezone.now())
    signup.refresh_from_db()
    return signup
