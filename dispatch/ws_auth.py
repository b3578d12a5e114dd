"""Token authentication for websockets, for clients that cannot send the session cookie.

`/ws/?token=<key>` with the same token as the REST API. A session (cookie) wins when both
are present.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token


@database_sync_to_async
def _user_for_token(key: str):
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            keys = parse_qs(scope.get("query_string", b"").decode()).get("token", [])
            if keys:
                scope = dict(scope, user=await _user_for_token(keys[0]))
        return await super().__call__(scope, receive, send)
