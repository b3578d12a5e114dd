from celery import shared_task

from backend.stats.refresh import stats_refresh


@shared_task
def refresh_statistics() -> int:
    """Beat, every STATS_REFRESH_SECONDS: recompute the days that changed."""
    return sum(result.rows for result in stats_refresh())


@shared_task
def rebuild_statistics() -> int:
    """Beat, nightly: recompute everything (catches what no change log names, such as a
    deleted row)."""
    return sum(result.rows for result in stats_refresh(full=True))
