"""Swedish first, English second: both catalogues complete, and the API speaks both."""

import subprocess
from pathlib import Path

import pytest
from django.urls import reverse

LOCALE = Path(__file__).resolve().parents[2] / "backend" / "locale"


def catalogue_statistics(language: str) -> str:
    po_file = LOCALE / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stderr


def test_swedish_catalogue_is_complete():
    statistics = catalogue_statistics("sv")
    assert "translated message" in statistics
    assert "untranslated" not in statistics
    assert "fuzzy" not in statistics


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("sv", "Fel telefonnummer, e-post eller lösenord. Kontrollera och försök igen."),
        ("en", "Wrong phone number, e-mail or password. Check them and try again."),
    ],
)
def test_api_errors_come_in_the_language_asked_for(api, language, message):
    response = api.post(
        reverse("auth-login"),
        {"identifier": "0701740699", "password": "nope"},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
