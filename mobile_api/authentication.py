"""The API's token check (REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"])."""

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from backend.accounts.models import User
from backend.db import fetch_instances

# Every API request runs this statement; built by the ORM (select_related) it took twice
# the CPU of running it, so it is written out once here.
_USER_OF_TOKEN = (
    f"SELECT u.* FROM {User._meta.db_table} u"  # noqa: S608 - table names, no input
    f" JOIN {Token._meta.db_table} t ON t.user_id = u.id WHERE t.key = %s"
)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's TokenAuthentication (header `Authorization: Token <key>`), same answers."""

    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        users = fetch_instances(User, _USER_OF_TOKEN, [key])
        if not users:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = users[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)
