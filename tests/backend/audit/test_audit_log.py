"""The audit log: who saw or changed a person's data. Recorded by the API views that
show or change it; a person looking at their own data is not recorded; a refused
request records nothing."""

import pytest
from django.db import IntegrityError

from backend.accounts.models import ProxyLink
from backend.audit.models import AuditEntry
from backend.audit.selectors import audit_entries_about
from backend.audit.services import audit_record, audit_record_many
from backend.community.models import MembershipState
from tests.factories import (
    AssociationFactory,
    MembershipFactory,
    RideRequestFactory,
    UserFactory,
    coordinator_of,
)

pytestmark = pytest.mark.django_db


def entries() -> list[tuple]:
    return list(
        AuditEntry.objects.order_by("pk").values_list("actor_id", "action", "subject_id", "detail")
    )


# --- The service and the table ----------------------------------------------------------


def test_a_record_names_who_what_and_whose():
    karin, ingrid = UserFactory(), UserFactory()
    entry = audit_record(actor=karin, action="ride.view", subject=ingrid, detail={"ride": 7})
    assert (entry.actor, entry.action, entry.subject, entry.detail) == (
        karin,
        "ride.view",
        ingrid,
        {"ride": 7},
    )
    assert list(audit_entries_about(subject=ingrid)) == [entry]


def test_looking_at_your_own_data_is_not_recorded_but_changing_it_is():
    ingrid = UserFactory()
    assert audit_record(actor=ingrid, action="ride.view", subject=ingrid) is None
    assert audit_record(actor=ingrid, action="profile.change", subject=ingrid) is not None
    assert [e[1] for e in entries()] == ["profile.change"]


def test_a_list_is_one_row_per_other_person_in_one_query(django_assert_num_queries):
    karin, *others = UserFactory.create_batch(4)
    with django_assert_num_queries(1):
        made = audit_record_many(
            actor=karin,
            action="roster.view",
            subject_ids=[karin.pk, others[0].pk, others[0].pk, others[1].pk, others[2].pk],
            detail={"association": 3},
        )
    assert made == 3
    assert sorted(e[2] for e in entries()) == sorted(o.pk for o in others)


def test_the_database_refuses_an_action_that_is_not_what_dot_verb():
    with pytest.raises(IntegrityError):
        AuditEntry.objects.create(action="looked at stuff")


def test_erasing_the_viewer_keeps_the_record_of_the_access():
    karin, ingrid = UserFactory(), UserFactory()
    audit_record(actor=karin, action="ride.view", subject=ingrid)
    karin.delete()
    assert entries() == [(None, "ride.view", ingrid.pk, {})]


# --- Recorded by the API -------------------------------------------------------------------


@pytest.fixture
def village_world(association, coordinator, rider):
    ride = RideRequestFactory(
        rider=rider, association=association, village=association.villages.get()
    )
    return association, coordinator, rider, ride


def test_coordinator_opening_a_ride_is_recorded_against_the_rider(village_world, api_as):
    _association, coordinator, rider, ride = village_world
    response = api_as(coordinator).get(f"/api/v1/rides/{ride.pk}")
    assert response.status_code == 200
    assert entries() == [(coordinator.pk, "ride.view", rider.pk, {"ride": ride.pk, "view": "full"})]


def test_the_rider_opening_their_own_ride_is_not_recorded(village_world, api_as):
    _association, _coordinator, rider, ride = village_world
    assert api_as(rider).get(f"/api/v1/rides/{ride.pk}").status_code == 200
    assert entries() == []


def test_someone_refused_a_ride_leaves_no_record(village_world, api_as):
    _association, _coordinator, _rider, ride = village_world
    stranger = MembershipFactory().user
    assert api_as(stranger).get(f"/api/v1/rides/{ride.pk}").status_code == 404
    assert entries() == []


def test_the_coordinators_board_records_each_rider_on_the_page(village_world, api_as):
    association, coordinator, rider, _ride = village_world
    other = MembershipFactory(association=association).user
    RideRequestFactory(rider=other, association=association, village=association.villages.get())
    response = api_as(coordinator).get(f"/api/v1/associations/{association.pk}/rides/")
    assert response.status_code == 200
    detail = {"association": association.pk, "view": "board"}
    assert sorted(entries()) == sorted(
        [
            (coordinator.pk, "ride.view", rider.pk, detail),
            (coordinator.pk, "ride.view", other.pk, detail),
        ]
    )


def test_the_roster_records_every_member_shown_but_the_viewer(association, coordinator, api_as):
    members = [MembershipFactory(association=association).user for _ in range(3)]
    response = api_as(coordinator).get(f"/api/v1/associations/{association.pk}/memberships/")
    assert response.status_code == 200
    assert sorted(e[2] for e in entries()) == sorted(m.pk for m in members)
    assert {(e[0], e[1], str(e[3])) for e in entries()} == {
        (coordinator.pk, "roster.view", str({"association": association.pk}))
    }


def test_the_people_list_records_the_people_shown(association, coordinator, rider, api_as):
    assert api_as(coordinator).get("/api/v1/people/").status_code == 200
    assert [(e[1], e[2]) for e in entries()] == [("people.view", rider.pk)]


def test_a_profile_change_records_the_field_names_never_the_values(api_as):
    ingrid = UserFactory(home_address="Storgatan 1")
    home = {"type": "Point", "coordinates": [14.23, 60.51]}  # given: nothing to look up
    response = api_as(ingrid).patch(
        "/api/v1/auth/me",
        {"home_address": "Åsvägen 4", "home_location": home, "contact_by_sms": True},
    )
    assert response.status_code == 200, response.content
    assert entries() == [
        (
            ingrid.pk,
            "profile.change",
            ingrid.pk,
            {"fields": ["contact_by_sms", "home_address", "home_location"]},
        )
    ]
    assert "Åsvägen" not in str(entries())


def test_approving_a_member_is_recorded(association, coordinator, api_as):
    pending = MembershipFactory(association=association, state=MembershipState.PENDING)
    response = api_as(coordinator).post(f"/api/v1/memberships/{pending.pk}/approve")
    assert response.status_code == 200, response.content
    assert entries() == [
        (
            coordinator.pk,
            "membership.approve",
            pending.user_id,
            {"membership": pending.pk, "association": association.pk},
        )
    ]


def test_a_refused_approval_records_nothing(association, api_as):
    pending = MembershipFactory(association=association, state=MembershipState.PENDING)
    other_coordinator = coordinator_of(AssociationFactory())
    response = api_as(other_coordinator).post(f"/api/v1/memberships/{pending.pk}/approve")
    assert response.status_code in (403, 404)
    assert entries() == []


def test_managed_profiles_and_proxies_are_recorded(association, coordinator, api_as):
    client = api_as(coordinator)
    response = client.post(
        "/api/v1/managed-profiles/",
        {"full_name": "Greta Nilsson", "association": association.pk},
    )
    assert response.status_code == 201, response.content
    greta = response.json()["id"]
    daughter = UserFactory(phone="+46701112233")
    response = client.post(
        "/api/v1/proxy-links/", {"resident": greta, "proxy_phone": "070-111 22 33"}
    )
    assert response.status_code == 201, response.content
    assert ProxyLink.objects.filter(resident_id=greta, proxy=daughter).exists()
    response = api_as(daughter).post(f"/api/v1/proxy-links/{greta}/{daughter.pk}/accept")
    assert response.status_code == 200, response.content
    response = client.delete(f"/api/v1/proxy-links/{greta}/{daughter.pk}")
    assert response.status_code == 204
    son = UserFactory(phone="+46701112244")
    response = client.post("/api/v1/proxy-links/", {"resident": greta, "proxy_phone": "0701112244"})
    assert response.status_code == 201, response.content
    response = api_as(son).delete(f"/api/v1/proxy-links/{greta}/{son.pk}")
    assert response.status_code == 204
    assert [(e[1], e[2], e[3]) for e in entries()] == [
        ("profile.create", greta, {"association": association.pk}),
        # No proxy id: the entry is in Greta's export, and would tell whether the number
        # has an account.
        ("proxy.create", greta, {}),
        ("proxy.accept", greta, {"proxy": daughter.pk}),
        ("proxy.delete", greta, {"proxy": daughter.pk}),
        ("proxy.create", greta, {}),
        # The son's own act: under Greta it would name who said no in her export.
        ("proxy.decline", son.pk, {"resident": greta}),
    ]


def test_approving_a_rider_is_recorded(association, coordinator, api_as):
    member = MembershipFactory(association=association)
    response = api_as(coordinator).post(
        f"/api/v1/memberships/{member.pk}/rider-approval", {"notes": "Har inte färdtjänst"}
    )
    assert response.status_code == 200, response.content
    assert entries() == [
        (
            coordinator.pk,
            "rider.approve",
            member.user_id,
            {"membership": member.pk, "association": association.pk},
        )
    ]


def test_the_mileage_report_records_the_drivers_in_it(association, coordinator, rider, api_as):
    from django.utils import timezone

    from backend.rides.services import busy_range
    from tests.factories import DriverProfileFactory

    driver = DriverProfileFactory(membership__association=association)
    ride = RideRequestFactory(
        rider=rider, association=association, village=association.villages.get()
    )
    ride.state, ride.driver, ride.planned_pickup = "completed", driver, ride.earliest_pickup
    ride.busy = busy_range(ride, ride.earliest_pickup)
    ride.driven_m, ride.closed_at = 12_000, timezone.now()
    ride.save()
    month = f"{timezone.localdate():%Y-%m}"
    response = api_as(coordinator).get(
        f"/api/v1/associations/{association.pk}/mileage", {"month": month}
    )
    assert response.status_code == 200, response.content
    assert [row["driver"] for row in response.json()] == [driver.pk]
    assert entries() == [
        (
            coordinator.pk,
            "mileage.view",
            driver.membership.user_id,
            {"association": association.pk, "month": month},
        )
    ]
