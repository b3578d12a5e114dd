"""The fields of a search form nobody has sent yet, rendered once per process.

Such a form looks the same for everyone who opens the page in one language on one day,
yet rendering it field by field through Django's form renderer costs a few milliseconds
on every visit of a busy page. The HTML is kept per everything it depends on (template,
form, language, initial values), so it is never stale and holds nothing personal."""

from functools import lru_cache

from django.forms import Form
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language


@lru_cache(maxsize=64)
def _render(template: str, form_class: type[Form], language: str, initial: tuple) -> SafeString:
    return render_to_string(template, {"form": form_class(initial=dict(initial))})


def blank_form_fields(template: str, form_class: type[Form], initial: dict) -> SafeString:
    """`template` rendered with an unbound `form_class(initial=initial)` as `form`; the
    initial values must be hashable (dates, times, numbers, strings)."""
    return _render(template, form_class, get_language(), tuple(initial.items()))
