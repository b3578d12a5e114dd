from enum import StrEnum


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
    WRONG_STATE = "ride_wrong_state"
    ALREADY_ACCEPTED = "ride_already_accepted"
    DRIVER_BUSY = "driver_busy"
    NOT_DRIVER = "not_driver"
    REASON_MISSING = "reason_missing"
    DRIVEN_INVALID = "driven_invalid"
    OFFER_NOT_FOUND = "offer_not_found"
    OFFER_NOT_PENDING = "offer_not_pending"
    # Drivers' settings
    PROFILE_INVALID = "profile_invalid"
    SLOT_INVALID = "slot_invalid"  # a weekly time that ends before it starts
    SLOT_WEEKDAY = "slot_weekday_invalid"
    SLOT_OVERLAP = "slot_overlap"
    EXCEPTION_INVALID = "exception_invalid"
