from django.apps import AppConfig


class MobileApiConfig(AppConfig):
    name = "mobile_api"
    verbose_name = "API"

    def ready(self) -> None:
        # Registers the schema extensions before any schema is generated.
        from mobile_api import schema  # noqa: F401
