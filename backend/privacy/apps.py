from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """A person's rights to their data (export, erasure) and how long Samby keeps what
    (retention). No models: it reads and changes the other apps' rows."""

    name = "backend.privacy"
    label = "privacy"
    verbose_name = _("Privacy")
