"""The web pages' changes to a person's data go into the audit log, and the person's
own data export says who else saw or changed their data."""

import json

import pytest

from backend.audit.models import AuditEntry
from backend.audit.services import audit_record

pytestmark = pytest.mark.django_db

PROFILE = {
    "preferred_language": "en",
    "contact_by_push": "on",
    "contact_by_sms": "on",
    "email": "anna@example.se",
    "quiet_start": "22:00",
    "quiet_end": "07:00",
}


def entries() -> list[tuple]:
    return list(
        AuditEntry.objects.order_by("pk").values_list("actor_id", "action", "subject_id", "detail")
    )


def test_changing_my_contact_choices_records_which_fields(world):
    rider = world.people["rider"]
    response = world.client("rider").post("/profile/", PROFILE | {"contact_by_email": "on"})
    assert response.status_code == 302
    assert entries() == [
        (rider.pk, "profile.change", rider.pk, {"fields": ["contact_by_email", "email"]})
    ]
    assert "anna@example.se" not in str(entries())


def test_saving_without_a_change_records_nothing(world):
    client = world.client("rider")
    client.post("/profile/", PROFILE)
    AuditEntry.objects.all().delete()
    assert client.post("/profile/", PROFILE).status_code == 302
    assert entries() == []


def test_my_export_lists_who_saw_my_data_and_is_itself_recorded(world):
    rider, coordinator = world.people["rider"], world.people["coordinator"]
    audit_record(
        actor=coordinator, action="ride.view", subject=rider, detail={"ride": world.open.pk}
    )
    response = world.client("rider").get("/profile/export")
    assert response.status_code == 200
    seen = json.loads(response.content)["seen_or_changed_by"]
    assert [(e["who"], e["action"], e["detail"]) for e in seen] == [
        ("Karin Lindqvist", "ride.view", {"ride": world.open.pk})
    ]
    assert entries()[-1] == (rider.pk, "profile.export", rider.pk, {})


def test_erasing_my_account_is_recorded_against_the_anonymised_account(world):
    rider = world.people["rider"]
    response = world.client("rider").post("/profile/erase", {"confirm": "on"})
    assert response.status_code == 302
    [(actor, action, subject, detail)] = entries()
    assert (actor, action, subject, detail["by"]) == (rider.pk, "person.erase", rider.pk, "self")
    rider.refresh_from_db()
    assert rider.full_name != "Anna Eriksson"
