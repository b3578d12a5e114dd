"""Websocket routes. Consumers authenticate, join their groups and forward typed events."""

from django.urls import path

from dispatch.consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/", LiveConsumer.as_asgi()),
]
