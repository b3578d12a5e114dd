import pytest
from django.contrib.gis.geos import Point

from backend.accounts.models import User
from backend.accounts.services import user_register, user_update_profile
from backend.errors import ApplicationError, ErrorKind
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_register_stores_phone_in_e164_and_a_usable_password():
    user = user_register(
        full_name="  Anna   Eriksson ", phone="070-174 06 20", password="lingon 2026 sylt"
    )
    assert (user.full_name, user.phone, user.email) == ("Anna Eriksson", "+46701740620", "")
    assert user.check_password("lingon 2026 sylt")
    assert user.preferred_language == "sv"
    assert not user.is_managed


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"phone": "12"}, "phone_invalid", "phone"),
        ({"phone": "", "email": ""}, "contact_missing", "phone"),
        ({"email": "not-an-address"}, "email_invalid", "email"),
        ({"password": "123"}, "password_weak", "password"),
        ({"password": "password"}, "password_weak", "password"),
        ({"full_name": "   "}, "name_missing", "full_name"),
    ],
    ids=[
        "short-phone",
        "no-contact",
        "bad-email",
        "short-password",
        "common-password",
        "blank-name",
    ],
)
def test_register_refuses_bad_input_and_writes_nothing(changes, code, field):
    values = {"full_name": "Anna", "phone": "0701740620", "password": "lingon 2026 sylt", **changes}
    with pytest.raises(ApplicationError) as refused:
        user_register(**values)
    assert refused.value.code == code
    assert refused.value.kind == ErrorKind.INVALID
    assert field in refused.value.fields
    assert User.objects.count() == 0


def test_register_refuses_a_phone_someone_logs_in_with():
    UserFactory(phone="+46701740620")
    with pytest.raises(ApplicationError) as refused:
        user_register(full_name="Anna", phone="070 174 06 20", password="lingon 2026 sylt")
    assert refused.value.code == "phone_taken"
    assert refused.value.kind == ErrorKind.CONFLICT
    assert User.objects.count() == 1


def test_update_profile_changes_only_what_is_given():
    user = UserFactory(phone="+46701740620", preferred_language="sv")
    user_update_profile(
        user=user,
        changes={"preferred_language": "en", "home_location": Point(14.22, 60.51, srid=4326)},
    )
    user.refresh_from_db()
    assert user.preferred_language == "en"
    assert (round(user.home_location.x, 2), round(user.home_location.y, 2)) == (14.22, 60.51)
    assert user.phone == "+46701740620"


def test_update_profile_refuses_to_remove_the_last_way_to_log_in():
    user = UserFactory(phone="+46701740620", email="")
    with pytest.raises(ApplicationError) as refused:
        user_update_profile(user=user, changes={"phone": ""})
    assert refused.value.code == "contact_missing"
    user.refresh_from_db()
    assert user.phone == "+46701740620"


def test_update_profile_refuses_another_persons_phone():
    UserFactory(phone="+46701740621")
    user = UserFactory(phone="+46701740620")
    with pytest.raises(ApplicationError) as refused:
        user_update_profile(user=user, changes={"phone": "0701740621"})
    assert refused.value.code == "phone_taken"
