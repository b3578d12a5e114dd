"""ASGI entry point: Django for HTTP (its WSGI handler on a pool of threads, see
backend/asgi_http.py), Channels for websockets.

This module and `backend.urls` are the composition root: the only places in
`backend` that import the interface packages (see ARCHITECTURE.md).
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
# Django must be set up before anything imports models.
django.setup(set_prefix=False)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from backend.asgi_http import DjangoHttp  # noqa: E402
from backend.gc_tuning import settle_after_startup  # noqa: E402
from dispatch.routing import websocket_urlpatterns  # noqa: E402
from dispatch.ws_auth import TokenAuthMiddleware  # noqa: E402


def build_application() -> ProtocolTypeRouter:
    """The whole app; the browser tests build a fresh one after their settings are in
    place (WhiteNoise reads STATIC_ROOT when its middleware is created)."""
    return ProtocolTypeRouter(
        {
            "http": DjangoHttp(get_wsgi_application(), threads=settings.WEB_THREADS),
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
            ),
        }
    )


application = build_application()
settle_after_startup()
