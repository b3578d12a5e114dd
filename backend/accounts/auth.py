from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from backend.accounts.models import User
from backend.accounts.selectors import logins_for_password
from backend.db import fetch_instances

# Every signed-in page loads its person by id; built by the ORM this took more CPU than
# the statement, so it is written out once (as the API's token check does).
_USER_BY_ID = f"SELECT * FROM {User._meta.db_table} WHERE id = %s"  # noqa: S608 - no input


class PhoneOrEmailBackend(ModelBackend):
    """Log in with a phone number (any common spelling) or an e-mail address (any case).
    A number or an address may be held by several logins while none or one has confirmed
    it: the password tells which one is signing in (selectors.logins_for_password)."""

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
        logins = logins_for_password(identifier=identifier)
        if not logins:
            # Spend the same time as a real check so timing does not reveal who exists.
            User().set_password(password)
            return None
        for user in logins:
            if user.check_password(password) and self.user_can_authenticate(user):
                return user
        return None

    def get_user(self, user_id: int) -> User | None:
        """ModelBackend's answer (the active person with this id, else None), read with
        one written-out statement."""
        users = fetch_instances(User, _USER_BY_ID, [user_id])
        if not users or not self.user_can_authenticate(users[0]):
            return None
        return users[0]
