"""Context every page's shell needs (webapp/base.html)."""

from functools import lru_cache

from django.http import HttpRequest
from django.urls import get_script_prefix, reverse

# The shell's links, by the name base.html uses (`links.<key>`).
_SHELL_LINKS = {
    "manifest": "webapp:manifest",
    "home": "webapp:home",
    "language": "webapp:language",
    "ride_new": "webapp:ride-new",
    "carpool": "webapp:carpool",
    "shop_runs": "webapp:shop-runs",
    "sharing": "webapp:sharing",
    "notifications": "webapp:notifications",
    "console": "webapp:console",
    "stats": "webapp:stats:dashboard",
    "driver": "webapp:driver",
    "profile": "webapp:profile",
    "sign_out": "webapp:sign-out",
}


def shell_links(request: HttpRequest) -> dict:
    """The shell's links, reversed once per process: the same on every page, and a
    dozen `{% url %}` tags were a tenth of a simple page's time."""
    return {"links": _links(get_script_prefix())}


@lru_cache(maxsize=8)
def _links(script_prefix: str) -> dict[str, str]:
    # reverse() puts the script prefix in front: the key keeps one answer per prefix.
    return {key: reverse(name) for key, name in _SHELL_LINKS.items()}
