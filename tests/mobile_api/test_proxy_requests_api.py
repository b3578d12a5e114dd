"""Asking someone to help through the API: the answer does not tell whether the number
has an account; the person asked lists what waits for their answer; a no is told to
whoever asked, without the name of whoever said it."""

import json
import re

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from backend.accounts.models import ProxyInvitation, ProxyLink, User
from backend.community.services import proxy_link_request
from backend.notifications.models import Notification
from backend.privacy.export import person_export
from tests.factories import (
    PASSWORD,
    AssociationFactory,
    ManagedProfileFactory,
    UserFactory,
    coordinator_of,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/proxy-links/"
REQUESTS = "/api/v1/proxy-links/requests"


@pytest.fixture
def anna():
    return UserFactory(full_name="Anna Eriksson", phone="+46701740620")


def ask(client, resident, phone, relationship="dotter"):
    return client.post(
        URL,
        {"resident": resident.pk, "proxy_phone": phone, "relationship": relationship},
        format="json",
    )


def test_a_known_and_an_unknown_number_get_the_same_answer(anna, api_as):
    UserFactory(full_name="Lena Eriksson", phone="+46701740650")
    client = api_as(anna)

    known = ask(client, anna, "070-174 06 50")
    unknown = ask(client, anna, "070-174 06 99")

    assert (known.status_code, unknown.status_code) == (201, 201)
    assert known.json() == {"state": "pending", "resident": anna.pk, "proxy_phone": "070-174 06 50"}
    assert unknown.json() == {
        "state": "pending",
        "resident": anna.pk,
        "proxy_phone": "070-174 06 99",
    }
    assert set(known.headers) == set(unknown.headers)
    assert ProxyLink.objects.get().invited_as == "070-174 06 50"
    assert ProxyInvitation.objects.get().invited_as == "070-174 06 99"

    again_known = ask(client, anna, "+46701740650")
    again_unknown = ask(client, anna, "+46701740699")
    assert (again_known.status_code, again_unknown.status_code) == (409, 409)
    assert again_known.json() == again_unknown.json()
    assert again_known.json()["error"]["code"] == "proxy_exists"


def test_registering_with_the_number_and_confirming_it_brings_the_request(
    anna, api_as, sms_provider
):
    assert ask(api_as(anna), anna, "070-174 06 99").status_code == 201
    response = APIClient().post(
        "/api/v1/auth/register",
        {"full_name": "Lena Eriksson", "phone": "0701740699", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["phone_confirmed_at"] is None
    lena = User.objects.get(pk=response.json()["id"])
    client = api_as(lena)
    assert client.get(REQUESTS).json()["results"] == []  # not before the number is shown hers

    assert client.post("/api/v1/auth/phone/code").status_code == 204
    sms = sms_provider.accepted[-1].form
    assert sms["to"] == "+46701740699"
    code = re.search(r"\b(\d{6})\b", sms["message"]).group(1)
    confirmed = client.post("/api/v1/auth/phone/confirm", {"code": code}, format="json")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["phone_confirmed_at"] is not None
    assert ProxyLink.objects.get().proxy == lena

    [invited] = client.get("/api/v1/notifications/").json()["results"]
    assert invited["kind"] == "proxy.invited"
    [row] = client.get(REQUESTS).json()["results"]
    assert row["resident"] == anna.pk
    answer = client.post(f"/api/v1/proxy-links/{anna.pk}/{lena.pk}/accept")
    assert answer.status_code == 200, answer.content


# --- Per-person limit ----------------------------------------------------------------------


def test_requests_are_limited_per_person_known_number_or_not(anna, api_as, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "proxy_request": "2/day",
        },
    }
    UserFactory(phone="+46701740650")
    client = api_as(anna)
    assert ask(client, anna, "070-174 06 50").status_code == 201
    assert ask(client, anna, "070-174 06 99").status_code == 201

    refused = ask(client, anna, "070-174 06 98")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) >= 1
    assert ProxyInvitation.objects.count() == 1
    # Someone else is not held back by Anna's count.
    bo = UserFactory()
    assert ask(api_as(bo), bo, "070-174 06 98").status_code == 201


def test_without_redis_no_request_goes_out(anna, api_as, settings):
    settings.CACHES = {  # the counters' Redis: a port where nothing listens
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = ask(api_as(anna), anna, "070-174 06 99")
    assert response.status_code == 429
    assert not ProxyInvitation.objects.exists()


# --- What waits for my answer ---------------------------------------------------------------


def test_the_person_asked_lists_what_waits_for_their_answer(
    anna, api_as, django_assert_num_queries
):
    lena = UserFactory(full_name="Lena Eriksson", phone="+46701740650")
    proxy_link_request(actor=anna, resident=anna, proxy_phone="070-174 06 50")
    association = AssociationFactory()
    coordinator = coordinator_of(association)
    coordinator.full_name = "Karin Lindqvist"
    coordinator.save()
    sven = ManagedProfileFactory(full_name="Sven Jansson")
    ProxyLink.objects.create(resident=sven, proxy=coordinator, accepted_at=timezone.now())
    proxy_link_request(
        actor=coordinator, resident=sven, proxy_phone="+46701740650", relationship="granne"
    )
    # An accepted link is not a request.
    bo = UserFactory(full_name="Bo Nilsson")
    ProxyLink.objects.create(resident=bo, proxy=lena, accepted_at=timezone.now())
    client = api_as(lena)

    # One query: the links with resident and asker joined (the first page is not full:
    # no count).
    with django_assert_num_queries(1):
        response = client.get(REQUESTS)

    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [set(row) for row in rows] == [
        {"resident", "resident_name", "relationship", "asked_by", "asked_at"}
    ] * 2
    assert [
        (r["resident"], r["resident_name"], r["relationship"], r["asked_by"]) for r in rows
    ] == [
        (anna.pk, "Anna Eriksson", "", "Anna Eriksson"),
        (sven.pk, "Sven Jansson", "granne", "Karin Lindqvist"),
    ]
    assert all(row["asked_at"] for row in rows)
    # Nothing else of the residents: no phone, no address.
    assert "+46701740620" not in response.content.decode()


def test_others_see_none_of_my_requests(anna, api_as):
    UserFactory(phone="+46701740650")
    proxy_link_request(actor=anna, resident=anna, proxy_phone="070-174 06 50")
    proxy_link_request(actor=anna, resident=anna, proxy_phone="070-174 06 99")
    # Anna asked; nothing waits for her own answer.
    assert api_as(anna).get(REQUESTS).json()["results"] == []
    assert api_as(UserFactory()).get(REQUESTS).json()["results"] == []


def test_anonymous_may_not_list_requests():
    response = APIClient().get(REQUESTS)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_schema_documents_the_requests_list(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    listing = schema["paths"][REQUESTS]
    assert set(listing) == {"get"}
    ok = listing["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page = schema["components"]["schemas"][ok["$ref"].split("/")[-1]]
    row = page["properties"]["results"]["items"]["$ref"].split("/")[-1]
    assert set(schema["components"]["schemas"][row]["properties"]) == {
        "resident",
        "resident_name",
        "relationship",
        "asked_by",
        "asked_at",
    }


# --- Saying no ------------------------------------------------------------------------------


def test_a_no_is_told_to_the_resident_without_the_name(anna, api_as):
    lena = UserFactory(full_name="Lena Eriksson", phone="+46701740650")
    proxy_link_request(actor=anna, resident=anna, proxy_phone="070-174 06 50")

    response = api_as(lena).delete(f"/api/v1/proxy-links/{anna.pk}/{lena.pk}")

    assert response.status_code == 204
    assert not ProxyLink.objects.exists()
    [told] = api_as(anna).get("/api/v1/notifications/").json()["results"]
    assert told["kind"] == "proxy.declined"
    assert told["payload"] == {"invited_as": "070-174 06 50", "resident": "Anna Eriksson"}
    assert "Lena" not in str(told)
    assert api_as(lena).get(REQUESTS).json()["results"] == []
    assert not Notification.objects.filter(recipient=lena, kind="proxy.declined").exists()
    # Nor does Anna's own data file name who said no; Lena's has her own act.
    assert "Lena" not in json.dumps(person_export(user=anna))
    [entry] = person_export(user=lena)["seen_or_changed_by"]
    assert entry["action"] == "proxy.decline"
