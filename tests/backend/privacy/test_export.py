"""The data export: complete by construction (every relation to a person is exported or
listed with a reason), filled for a person who uses everything, and available to the
person, their proxy and staff only (API and web page)."""

import json

import pytest
from django.apps import apps
from django.test import Client

from backend.audit.models import AuditEntry
from backend.privacy.export import NOT_EXPORTED, PERSON_RECORDS, SECTIONS, person_export
from tests.factories import UserFactory
from tests.privacy_world import make_privacy_world


def _relations_to_people() -> set[str]:
    """Every concrete relation field, in every installed model (also the many-to-many
    tables), that points at a person: the user model or a model standing for a person in
    a role (PERSON_RECORDS)."""
    people = {apps.get_model(label) for label in PERSON_RECORDS}
    found = set()
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy:
            continue
        for field in model._meta.get_fields():
            if field.concrete and field.is_relation and field.related_model in people:
                found.add(f"{model._meta.label}.{field.name}")
    return found


def test_every_relation_to_a_person_is_exported_or_excluded_with_a_reason():
    covered = [key for section in SECTIONS for key in section.covers]
    assert len(covered) == len(set(covered)), "a relation is claimed by two sections"
    assert not set(covered) & set(NOT_EXPORTED), "a relation is both exported and excluded"
    assert all(len(reason) > 20 for reason in NOT_EXPORTED.values())

    relations = _relations_to_people()
    missing = relations - set(covered) - set(NOT_EXPORTED)
    assert not missing, (
        "These relations to a person are neither exported (backend/privacy/export.py "
        f"SECTIONS) nor listed in NOT_EXPORTED with a reason: {sorted(missing)}"
    )
    stale = (set(covered) | set(NOT_EXPORTED)) - relations
    assert not stale, f"No such relation (renamed or removed?): {sorted(stale)}"


def test_the_walk_finds_a_new_model_holding_personal_data():
    """The guard itself: the walk sees relations through the person records too (a
    driver's weekly times hang off the driver profile, not the user)."""
    relations = _relations_to_people()
    assert {
        "rides.AvailabilitySlot.driver",
        "carpool.Booking.passenger",
        "accounts.User_groups.user",
        "community.Membership.user",
    } <= relations


@pytest.mark.django_db
def test_a_person_who_uses_everything_finds_it_all_in_the_export(settings):
    world = make_privacy_world(settings)
    greta = person_export(user=world.greta)
    erik = person_export(user=world.erik)
    assert set(greta) == {"exported_at", *(section.name for section in SECTIONS)}
    assert json.loads(json.dumps(greta)) == greta  # JSON as it is

    assert greta["person"]["full_name"] == "Greta Andersson"
    assert greta["person"]["home_address"] == "Gretas väg 9"
    assert greta["proxies"]["they_help_me"][0]["name"] == "Lena Andersson"
    assert greta["memberships"][0]["approved_for_rides"] is not None
    assert greta["rides"][0]["pickup_address"] == "Gretas väg 9"
    assert greta["rides"][0]["note"] == "Rullator i bagaget"
    assert [b["pickup_address"] for b in greta["carpool_bookings"]] == ["Gretas väg 9"]
    assert greta["carpool_bookings"][0]["driver"] == "Erik Olsson"
    assert greta["sharing"]["bookings"][0]["note"] == "Till flytten"
    assert greta["shop_runs"]["signups"][0]["note"] == "Ringer på dörren"
    assert "ride.cancelled" in [n["kind"] for n in greta["notifications"]]
    assert greta["notification_preferences"]["quiet_hours"] == {
        "from": "21:00:00",
        "until": "08:00:00",
    }
    assert greta["devices_for_push"] == [
        {"browser": "Firefox", "since": greta["devices_for_push"][0]["since"]}
    ]
    assert [e["action"] for e in greta["seen_or_changed_by"]] == ["ride.view"]
    assert greta["seen_or_changed_by"][0]["who"] == "Karin Lindqvist"

    assert erik["driver_profiles"][0]["weekly_availability"][0]["from"] == "07:00:00"
    assert erik["carpool_trips"][0]["from_address"] == "Eriks väg 1"
    assert erik["carpool_trips"][0]["departures"][0]["seats_taken"] == 1
    assert erik["sharing"]["things_i_lend"][0]["title"] == "Eriks släpvagn"
    # Whom Erik carries is the passengers' data, not his (what he was told about her
    # booking is in his inbox: he received it).
    assert "Greta" not in json.dumps({k: v for k, v in erik.items() if k != "notifications"})

    lena = person_export(user=world.lena)
    assert lena["proxies"]["i_help"][0]["name"] == "Greta Andersson"
    assert [b["passenger"] for b in lena["carpool_bookings"]] == ["Greta Andersson"]


@pytest.mark.django_db
def test_the_api_gives_the_file_to_the_person_their_proxy_and_staff_only(settings, api_as):
    world = make_privacy_world(settings)
    url = f"/api/v1/people/{world.greta.pk}/export"

    response = api_as(world.lena).get(url)
    assert response.status_code == 200
    assert response.json()["person"]["full_name"] == "Greta Andersson"
    assert response["Cache-Control"] == "no-store"
    assert AuditEntry.objects.filter(
        actor=world.lena, subject=world.greta, action="profile.export"
    ).exists()

    staff = UserFactory(is_staff=True)
    assert api_as(staff).get(url).status_code == 200
    # A coordinator books for Greta but does not get her whole file; a stranger learns
    # nothing, not even that she exists.
    for someone in (world.shop.coordinator, world.erik, world.shop.outsider):
        refused = api_as(someone).get(url)
        assert refused.status_code == 404
        assert "Greta" not in refused.content.decode()
    own = api_as(world.erik).get(f"/api/v1/people/{world.erik.pk}/export")
    assert own.json()["person"]["full_name"] == "Erik Olsson"


@pytest.mark.django_db
def test_the_profile_page_lets_a_proxy_download_the_file_of_the_person_they_help(settings):
    world = make_privacy_world(settings)
    client = Client()
    client.force_login(world.lena)
    page = client.get("/profile/").content.decode()
    assert "Greta Andersson" in page
    assert f"/profile/people/{world.greta.pk}/export" in page
    download = client.get(f"/profile/people/{world.greta.pk}/export")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert json.loads(download.content)["rides"][0]["pickup_address"] == "Gretas väg 9"

    client.force_login(world.erik)
    assert client.get(f"/profile/people/{world.greta.pk}/export").status_code == 404
    assert "Greta Andersson" not in client.get("/profile/").content.decode()
