from enum import StrEnum


class ResourceErrorCode(StrEnum):
    NOT_ALLOWED = "resource_not_allowed"
    OWNER_INVALID = "resource_owner_invalid"
    PRICE_INVALID = "resource_price_invalid"
    LENGTH_INVALID = "resource_length_invalid"
    CAR_FIELDS = "resource_car_fields"
    PHOTO_INVALID = "resource_photo_invalid"
    PHOTO_LIMIT = "resource_photo_limit"
    ALREADY_IN_SERVICE = "resource_already_in_service"
    OUTSIDE_AREA = "resource_outside_area"


class BookingErrorCode(StrEnum):
    OVERLAP = "booking_overlap"
    PERIOD_INVALID = "booking_period_invalid"
    IN_PAST = "booking_in_past"
    TOO_SHORT = "booking_too_short"
    TOO_LONG = "booking_too_long"
    TOO_FAR_AHEAD = "booking_too_far_ahead"
    NOT_MEMBER = "booking_not_member"
    NOT_CLEARED = "booking_not_cleared"
    NOT_ALLOWED = "booking_not_allowed"
    UNAVAILABLE = "booking_resource_unavailable"
    WRONG_STATE = "booking_wrong_state"
    LIMIT_ACTIVE = "booking_limit_active"
    LIMIT_DAYS = "booking_limit_days"
    ODOMETER_REQUIRED = "booking_odometer_required"
    ODOMETER_BACKWARDS = "booking_odometer_backwards"
    TOO_EARLY = "booking_too_early"
    ALREADY_WAITING = "booking_already_waiting"
