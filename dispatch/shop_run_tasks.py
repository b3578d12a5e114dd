"""Celery tasks of shop runs in dispatch: thin, take ids, safe to run twice.

Imported by dispatch/tasks.py so the worker registers them."""

from celery import shared_task

from dispatch import shop_runs


@shared_task
def plan_run(occurrence_id: int) -> bool:
    """Plan the pickup order of a run whose plan is stale (a stale-free run: nothing)."""
    return shop_runs.occurrence_plan(occurrence_id=occurrence_id).saved


@shared_task
def plan_stale_runs() -> int:
    """Beat, every two minutes: plan what the on-commit tasks missed (broker down)."""
    return shop_runs.plan_stale_runs()


@shared_task
def offer_runs_without_drivers() -> int:
    """Beat, daily: offer the coming week's runs that need a car to available drivers."""
    return shop_runs.offer_runs_without_drivers()


@shared_task
def offer_run(occurrence_id: int) -> int:
    return len(shop_runs.run_offer_drivers(occurrence_id=occurrence_id))
