from enum import StrEnum


class ShuttleErrorCode(StrEnum):
    NOT_ALLOWED = "run_not_allowed"
    NOT_MEMBER = "not_member"
    RRULE_INVALID = "rrule_invalid"
    TIMES_INVALID = "run_times_invalid"
    VALUE_INVALID = "run_value_invalid"
    DEADLINE_PASSED = "signup_deadline_passed"
    RUN_FULL = "run_full"
    RUN_NOT_OPEN = "run_not_open"
    ALREADY_SIGNED_UP = "already_signed_up"
    NO_PICKUP = "pickup_missing"
    OUTSIDE_AREA = "outside_area"
    VILLAGE_NOT_SERVED = "village_not_served"
    SIGNUP_WRONG_STATE = "signup_wrong_state"
    NOT_DRIVER = "not_driver"
    DRIVER_BUSY = "driver_busy"
    NO_CAR_NEEDED = "no_car_needed"
    OFFER_CLOSED = "run_offer_closed"
    PLAN_INFEASIBLE = "plan_infeasible"
