from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = "Dispatch"

    def ready(self) -> None:
        # SMS answers ("JA 4821") to ride offers are routed by name to these actions.
        from dispatch import replies  # noqa: F401
