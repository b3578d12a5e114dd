from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from backend.accounts.models import User
from backend.accounts.selectors import user_find_login


class PhoneOrEmailBackend(ModelBackend):
    """Log in with a phone number (any common spelling) or an e-mail address."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs,
    ) -> User | None:
        identifier = username or kwargs.get("phone") or kwargs.get("email")
        if not identifier or not password:
            return None
        user = user_find_login(identifier=identifier)
        if user is None:
            # Spend the same time as a real check so timing does not reveal who exists.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
