from celery import shared_task

from backend.stats.refresh import stats_refresh
from backend.stats.selectors import stats_cache_warm


@shared_task
def refresh_statistics() -> int:
    """Beat, every STATS_REFRESH_SECONDS: recompute the days that changed, then the
    default dashboards (when anything changed)."""
    rows = sum(result.rows for result in stats_refresh())
    if rows:
        stats_cache_warm()
    return rows


@shared_task
def rebuild_statistics() -> int:
    """Beat, nightly: recompute everything (catches what no change log names, such as a
    deleted row), then the default dashboards."""
    rows = sum(result.rows for result in stats_refresh(full=True))
    stats_cache_warm()
    return rows
