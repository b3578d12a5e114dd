"""My home address on the profile page: shown with who sees it, changed by a form of its
own (`/profile/home`) that works without JavaScript. The address is looked up in the
fake Nominatim on loopback and its point saved with it; an address that cannot be found
is the page again with a 400 and the message at the field, nothing saved; removing it
removes the point too. The page only ever changes the signed-in person's home."""

import re

import pytest
from django.test import Client

from backend.audit.models import AuditEntry
from tests.factories import VANSBRO
from tests.home_fixtures import NEW_HOME, NEW_POINT, OLD, OLD_HOME, home_of

pytestmark = pytest.mark.django_db

PROFILE = "/profile/"
HOME = "/profile/home"


@pytest.fixture
def rider(world):
    rider = world.people["rider"]
    rider.home_address, rider.home_location = OLD_HOME, VANSBRO
    rider.save(update_fields=["home_address", "home_location"])
    return rider


def home_section(response) -> str:
    page = response.content.decode()
    found = re.search(r"<section [^>]*data-home-address>.*?</section>", page, re.S)
    assert found, "no home address section"
    return found.group(0)


def audit() -> list[tuple]:
    return list(AuditEntry.objects.values_list("actor_id", "action", "subject_id", "detail"))


def test_the_profile_shows_my_home_address_and_who_sees_it(world, rider):
    response = world.client("rider").get(PROFILE)
    assert response.status_code == 200
    section = home_section(response)
    assert '<h2 id="home-address">Home address</h2>' in section
    assert f"<strong data-home-now>{OLD_HOME}</strong>" in section
    assert f'name="home_address" value="{OLD_HOME}"' in section
    assert 'action="/profile/home"' in section
    assert "Suggested as the pickup when you book a ride or a shop run." in section
    assert "the people who book for you and your association's coordinators" in section
    assert "Drivers see a pickup address only on rides they drive." in section
    assert "Remove my home address" in section


def test_without_a_home_the_profile_says_so_and_offers_no_removal(world):
    section = home_section(world.client("rider").get(PROFILE))
    assert "You have not given a home address." in section
    assert "Remove my home address" not in section


def test_the_section_is_in_swedish_for_a_swedish_reader(world, rider):
    client = Client(HTTP_ACCEPT_LANGUAGE="sv")
    client.force_login(rider)
    section = home_section(client.get(PROFILE))
    assert '<h2 id="home-address">Hemadress</h2>' in section
    assert "Ta bort min hemadress" in section
    assert "Föreslås som upphämtningsplats när du bokar skjuts eller handlarskjuts." in section


def test_a_new_address_is_looked_up_saved_with_its_point_and_audited(world, rider, home_geocoder):
    client = world.client("rider")
    response = client.post(HOME, {"home_address": f" {NEW_HOME} "})
    assert response.status_code == 302
    assert response["Location"] == PROFILE
    assert home_of(rider) == (NEW_HOME, NEW_POINT)
    assert [r.query["q"] for r in home_geocoder.requests] == [NEW_HOME]
    assert audit() == [
        (rider.pk, "profile.change", rider.pk, {"fields": ["home_address", "home_location"]})
    ]
    page = client.get(PROFILE).content.decode()
    assert "Your home address is saved." in page
    assert f"<strong data-home-now>{NEW_HOME}</strong>" in page


def test_an_address_not_found_is_the_page_again_with_the_message_at_the_field(
    world, rider, home_geocoder
):
    response = world.client("rider").post(HOME, {"home_address": "Ingenstans 99"})
    assert response.status_code == 400
    section = home_section(response)
    assert "We could not find that address." in section
    # The field's own message, next to it, and what was typed kept to correct.
    assert '<ul class="errorlist" id="id_home_address_error"><li>Address not found.</li></ul>' in (
        section
    )
    assert 'name="home_address" value="Ingenstans 99"' in section
    assert 'aria-invalid="true"' in section
    assert f"<strong data-home-now>{OLD_HOME}</strong>" in section
    # The rest of the profile is there as usual.
    assert "Language and messages" in response.content.decode()
    assert home_of(rider) == OLD
    assert audit() == []


def test_without_a_geocoder_the_address_is_refused_and_coordinates_offered(world, rider):
    response = world.client("rider").post(HOME, {"home_address": NEW_HOME})
    assert response.status_code == 400
    section = home_section(response)
    assert "Addresses cannot be looked up here." in section
    assert "Give its coordinates" in section
    assert home_of(rider) == OLD


def test_coordinates_given_are_used_without_a_lookup(world, rider, home_geocoder):
    response = world.client("rider").post(
        HOME, {"home_address": "Lillgården, Äppelbo", "home_lon": "14.0021", "home_lat": "60.4943"}
    )
    assert response.status_code == 302
    assert home_of(rider) == ("Lillgården, Äppelbo", (14.0021, 60.4943))
    assert home_geocoder.requests == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"home_address": "", "home_lon": "14.0", "home_lat": "60.4"}, "Write the address as well"),
        ({"home_address": NEW_HOME, "home_lon": "14.0"}, "Give both longitude and latitude"),
        (
            {"home_address": NEW_HOME, "home_lat": "95", "home_lon": "14"},
            "less than or equal to 90",
        ),
        ({"home_address": "x" * 301}, "at most 300 characters"),
    ],
    ids=["coordinates-without-address", "half-a-point", "latitude-off-the-globe", "too-long"],
)
def test_bad_input_is_a_400_that_says_why_and_saves_nothing(
    world, rider, home_geocoder, data, message
):
    response = world.client("rider").post(HOME, data)
    assert response.status_code == 400
    assert message in home_section(response)
    assert home_of(rider) == OLD
    assert home_geocoder.requests == []


@pytest.mark.parametrize(
    "data",
    [{"home_address": ""}, {"home_address": "   "}, {"remove": "1"}],
    ids=["emptied", "spaces", "remove-button"],
)
def test_removing_the_address_removes_its_point(world, rider, home_geocoder, data):
    client = world.client("rider")
    response = client.post(HOME, data)
    assert response.status_code == 302
    assert home_of(rider) == ("", None)
    assert home_geocoder.requests == []
    assert audit() == [
        (rider.pk, "profile.change", rider.pk, {"fields": ["home_address", "home_location"]})
    ]
    assert "Your home address is removed." in client.get(PROFILE).content.decode()


def test_saving_the_same_place_again_records_nothing(world, rider, home_geocoder):
    client = world.client("rider")
    client.post(HOME, {"home_address": NEW_HOME})
    AuditEntry.objects.all().delete()
    assert client.post(HOME, {"home_address": NEW_HOME}).status_code == 302
    assert audit() == []


def test_the_page_changes_only_the_signed_in_persons_home(world, rider, home_geocoder):
    """The daughter books for her mother, but this page is her own: what she sends,
    whatever else it names, changes her home, never her mother's."""
    proxy = world.people["proxy"]
    response = world.client("proxy").post(
        HOME, {"home_address": NEW_HOME, "user": rider.pk, "pk": rider.pk}
    )
    assert response.status_code == 302
    assert home_of(proxy) == (NEW_HOME, NEW_POINT)
    assert home_of(rider) == OLD
    assert audit() == [
        (proxy.pk, "profile.change", proxy.pk, {"fields": ["home_address", "home_location"]})
    ]


def test_someone_not_signed_in_is_sent_to_sign_in_and_changes_nothing(world, rider, home_geocoder):
    response = world.client("anonymous").post(HOME, {"home_address": NEW_HOME})
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in")
    assert home_of(rider) == OLD
    assert home_geocoder.requests == []


def test_the_address_is_changed_by_post_only(world, rider):
    assert world.client("rider").get(HOME).status_code == 405


@pytest.mark.parametrize("geocoder_on", [True, False], ids=["not-found", "no-geocoder"])
def test_a_refused_address_points_to_the_coordinates_not_to_a_map(
    world, rider, settings, geocoder_on, request
):
    """The profile has no map (the booking forms do): the geocoder's advice to pick the
    place on one is replaced by the coordinates the page offers."""
    if geocoder_on:
        request.getfixturevalue("home_geocoder")
    response = world.client("rider").post(HOME, {"home_address": "Ingenstans 99"})
    assert response.status_code == 400
    section = home_section(response)
    assert "coordinates below" in section
    assert "map" not in section.lower()
    assert home_of(rider) == OLD
