from django.contrib.postgres.fields import DateTimeRangeField
from django.db.models import Func


class BlockedRange(Func):
    """tstzrange(start, end): half-open [start, end), PostgreSQL's default bounds. The
    same expression serves the exclusion constraint and the availability search, so the
    search uses the constraint's GiST index."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()
