"""The database keeps sign-in codes in bounds, also when two requests race."""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from backend.accounts.login_codes import _hash, login_code_verify
from backend.accounts.models import LoginCode
from backend.errors import ApplicationError
from tests.factories import UserFactory


def code_for(user, **fields) -> LoginCode:
    now = timezone.now()
    values = {
        "user": user,
        "code_hash": _hash(user.pk, "123456"),
        "created_at": now,
        "expires_at": now + timedelta(minutes=10),
    }
    return LoginCode.objects.create(**(values | fields))


@pytest.mark.django_db
def test_one_open_code_per_person():
    user = UserFactory()
    code_for(user)
    with pytest.raises(IntegrityError, match="login_code_one_open"), transaction.atomic():
        code_for(user)
    code_for(user, used_at=timezone.now())  # used ones may pile up


@pytest.mark.django_db
def test_attempts_are_bounded():
    with pytest.raises(IntegrityError, match="login_code_attempts_limited"):
        code_for(UserFactory(), attempts=LoginCode.MAX_ATTEMPTS + 1)


@pytest.mark.django_db
def test_a_code_expires_after_it_is_made():
    now = timezone.now()
    with pytest.raises(IntegrityError, match="login_code_expires_later"):
        code_for(UserFactory(), created_at=now, expires_at=now)


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_guesses_all_count():
    """Eight guesses at once on separate connections: none is lost, the code is burnt
    and the limit holds (the row lock serialises them)."""
    user = UserFactory(phone="+46701740620")
    code_for(user)
    barrier = threading.Barrier(8)
    outcomes = []

    def guess():
        try:
            barrier.wait()
            login_code_verify(phone="+46701740620", code="000000")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    code = LoginCode.objects.get(user=user)
    assert code.attempts == LoginCode.MAX_ATTEMPTS
    assert code.used_at is not None
    assert len(outcomes) == 8
    assert outcomes.count("login_code_wrong") == 8
