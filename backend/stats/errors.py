from enum import StrEnum


class StatsErrorCode(StrEnum):
    RANGE_REVERSED = "stats_range_reversed"
    RANGE_TOO_LONG = "stats_range_too_long"
    DATE_OUT_OF_RANGE = "stats_date_out_of_range"
    UNKNOWN_VILLAGE = "stats_unknown_village"
    UNKNOWN_SERVICE = "stats_unknown_service"
    UNKNOWN_DIMENSION = "stats_unknown_dimension"
    UNKNOWN_GRANULARITY = "stats_unknown_granularity"
