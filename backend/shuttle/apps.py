from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShuttleConfig(AppConfig):
    name = "backend.shuttle"
    label = "shuttle"
    verbose_name = _("Shop runs")

    def ready(self) -> None:
        # SMS answers ("JA 4821") to a freed seat offered from the waitlist.
        from backend.shuttle import replies  # noqa: F401
