"""Garbage collection in a web process (docs/performance.md, "Load test").

Each request leaves its objects (the request, the view, the response, the template
context) in reference cycles, so they are freed by Python's cycle collector, not when
the request ends. With the collector's defaults, collections ran every 700 new objects
and each full one walked the whole process (Django, the URLs, the templates: about
300,000 objects, a quarter of a second each time); under the load test they took 18 % of
a web process's CPU, and a request that met a full collection waited for it.

So, once a process has loaded what it keeps for its lifetime, those objects are moved
out of the collector's sight (`gc.freeze`), and the youngest generation is collected
every YOUNG_THRESHOLD new objects: each collection then finds mostly garbage, and
fewer of the requests' objects live long enough to be walked again."""

import gc

from django.urls import get_resolver

YOUNG_THRESHOLD = 20_000  # CPython's default is 700


def settle_after_startup() -> None:
    """Load the URLconf (and with it every view module), collect what startup left
    behind, freeze the rest and raise the young generation's threshold."""
    get_resolver().url_patterns  # noqa: B018 - imports the views now, not on the first request
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
