from enum import StrEnum
from typing import Any

from backend.errors import ApplicationError


class RideErrorCode(StrEnum):
    NOT_ALLOWED = "ride_not_allowed"
    NOT_RIDER = "not_approved_rider"
    OUTSIDE_AREA = "outside_area"
    TIME_PAST = "time_in_past"
    TIME_TOO_FAR = "time_too_far_ahead"
    WINDOW_REVERSED = "window_reversed"
    WINDOW_TOO_LONG = "window_too_long"
    TIME_MISSING = "time_missing"
    PASSENGERS = "passengers_invalid"
    NEEDS_UNKNOWN = "needs_unknown"
    SAME_PLACE = "same_place"
    RETURN_BEFORE_ARRIVAL = "return_before_arrival"
    ALREADY_REQUESTED = "ride_already_requested"
    WRONG_STATE = "ride_wrong_state"
    ALREADY_ACCEPTED = "ride_already_accepted"
    DRIVER_BUSY = "driver_busy"
    NOT_DRIVER = "not_driver"
    REASON_MISSING = "reason_missing"
    DRIVEN_INVALID = "driven_invalid"
    DRIVEN_TOO_FAR = "driven_too_far"  # beyond what the ride takes, without saying why
    TEXT_TOO_LONG = "text_too_long"  # a reason or an explanation
    CLAIM_ALREADY_DECIDED = "mileage_claim_already_decided"
    TOO_EARLY = "ride_too_early"
    OFFER_NOT_FOUND = "offer_not_found"
    OFFER_NOT_PENDING = "offer_not_pending"
    # Drivers' settings
    PROFILE_INVALID = "profile_invalid"
    SLOT_INVALID = "slot_invalid"  # a weekly time that ends before it starts
    SLOT_WEEKDAY = "slot_weekday_invalid"
    SLOT_OVERLAP = "slot_overlap"
    EXCEPTION_INVALID = "exception_invalid"
    EXCEPTION_CLASH = "exception_clash"  # the day already has a change at that time
    EXCEPTION_NOT_FOUND = "exception_not_found"


class RideAlreadyRequested(ApplicationError):
    """The rider already has this ride, not yet done or cancelled: `ride_id` is that
    ride, so the pages and the API can lead to it."""

    def __init__(self, code: StrEnum | str, message: Any, *, ride_id: int, **kwargs) -> None:
        super().__init__(code, message, extra={"ride": ride_id}, **kwargs)
        self.ride_id = ride_id
