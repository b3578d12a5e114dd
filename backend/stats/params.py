"""The analyst's choices as they arrive from a form or a query string (text), turned
into a checked `StatsQuery`. Shared by the API and the dashboard, so both answer a
mistake the same way."""

from collections.abc import Sequence
from datetime import date

from django.utils.translation import gettext_lazy as _

from backend.community.models import Municipality
from backend.errors import ApplicationError
from backend.stats.selectors import StatsQuery, stats_query


def _date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as error:
        raise ApplicationError(
            "invalid_date",
            _("Give dates as YYYY-MM-DD, e.g. 2026-01-31."),
            fields={name: [_("Use the form YYYY-MM-DD.")]},
        ) from error


def stats_query_from_text(
    *,
    municipality: Municipality,
    start: str = "",
    end: str = "",
    villages: Sequence[str] = (),
    services: Sequence[str] = (),
    granularity: str = "",
) -> StatsQuery:
    village_ids = []
    for value in villages:
        if not value:
            continue
        try:
            village_ids.append(int(value))
        except ValueError as error:
            raise ApplicationError(
                "invalid_village",
                _("Choose a village from the list."),
                fields={"village": [_("Not a village number.")]},
            ) from error
    return stats_query(
        municipality=municipality,
        start=_date(start, "start"),
        end=_date(end, "end"),
        villages=village_ids,
        services=[service for service in services if service],
        granularity=granularity or None,
    )
