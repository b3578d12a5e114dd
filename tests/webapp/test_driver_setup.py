"""Driver mode's first setup: a member made a volunteer driver has no driver profile
yet, so driver mode leads them to a form with their car, the distance they drive and
where they usually drive from (an address looked up by the geocoder, their own home to
start with). Saved by the service the app uses; then driver mode opens, at the weekly
times. A bad address says so and creates nothing; someone without the role still hears
they are not a driver. An existing driver may move their home base on the same page."""

import pytest
from django.contrib.gis.geos import Point

from backend.community.models import Membership, MembershipState, Role
from backend.community.services import membership_set_roles
from backend.rides.models import AvailabilityWindow, DriverProfile
from tests.factories import AssociationFactory, DriverProfileFactory, MembershipFactory
from tests.fakes.geocoder import FakeNominatim

pytestmark = pytest.mark.django_db

SETUP = "/driver/profile"
HOME = "Storgatan 1, Vansbro"
HOME_POINT = (14.2301, 60.5102)
LAKE_ROAD = "Sjövägen 4, Äppelbo"
LAKE_POINT = (14.0021, 60.4943)


def make_driver(world, role: str = "other_resident") -> Membership:
    """The coordinator makes the member a driver, as the roster does."""
    person = world.people[role]
    person.home_address = HOME
    person.save(update_fields=["home_address"])
    membership = Membership.objects.get(user=person, association=world.a)
    return membership_set_roles(
        actor=world.people["coordinator"],
        membership=membership,
        roles=[*membership.roles, Role.DRIVER],
    )


def setup_url(world) -> str:
    return f"{SETUP}?association={world.a.pk}"


def form(world, **changes) -> dict:
    return {
        "association": world.a.pk,
        "home_address": LAKE_ROAD,
        "radius_km": "15",
        "seats": "3",
        "vehicle_description": "Blå Volvo V70",
        "walker_space": "on",
    } | changes


def profiles(membership: Membership) -> list[dict]:
    return list(
        DriverProfile.objects.filter(membership=membership).values(
            "service_radius_m", "seats", "vehicle_description", "walker_space", "home_base"
        )
    )


def xy(point: Point) -> tuple[float, float]:
    return (round(point.x, 4), round(point.y, 4))


@pytest.fixture
def geocoder(settings):
    with FakeNominatim({LAKE_ROAD: LAKE_POINT, HOME: HOME_POINT}) as fake:
        settings.GEOCODER_URL = fake.url
        yield fake


# --- Getting there ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/driver/", "/driver/availability", "/driver/km"])
def test_driver_mode_leads_a_new_driver_to_the_setup(world, url):
    make_driver(world)
    response = world.client("other_resident").get(url)
    assert response.status_code == 302
    assert response["Location"] == setup_url(world)


def test_the_setup_page_asks_where_they_drive_from_with_their_home_filled_in(world):
    make_driver(world)
    response = world.client("other_resident").get(SETUP)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Start driving</h1>" in page
    assert "You are a volunteer driver in Äppelbo byalag." in page
    assert '<label for="id_home_address">Where do you usually drive from?</label>' in page
    assert f'name="home_address" value="{HOME}"' in page
    # The profile's defaults: 20 km, three seats.
    assert 'name="radius_km" value="20"' in page
    assert 'name="seats" value="3"' in page
    assert "Save and go on" in page


def test_the_header_links_a_new_driver_to_driver_mode(world):
    page = world.client("other_resident").get("/").content.decode()
    assert 'href="/driver/"' not in page
    make_driver(world)
    page = world.client("other_resident").get("/").content.decode()
    assert 'href="/driver/"' in page


# --- Setting up ------------------------------------------------------------------------------


def test_setting_up_creates_the_profile_at_the_address_and_opens_driver_mode(world, geocoder):
    membership = make_driver(world)
    client = world.client("other_resident")
    response = client.post(SETUP, form(world))
    assert response.status_code == 302
    assert response["Location"] == f"/driver/availability?association={world.a.pk}"
    [profile] = profiles(membership)
    assert xy(profile.pop("home_base")) == LAKE_POINT
    assert profile == {
        "service_radius_m": 15_000,
        "seats": 3,
        "vehicle_description": "Blå Volvo V70",
        "walker_space": True,
    }
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert (
        "You are set up as a driver. Now add the times of the week when you can usually drive."
        in page.content.decode()
    )
    home = client.get("/driver/")
    assert home.status_code == 200
    assert "You are off duty" in home.content.decode()
    # The setup is done: the same address is now the car-and-area page.
    assert "<h1>My car and area</h1>" in client.get(SETUP).content.decode()


def test_their_own_home_is_used_without_a_lookup(world, settings):
    settings.GEOCODER_URL = ""  # a lookup would fail
    membership = make_driver(world)
    person = world.people["other_resident"]
    person.home_location = Point(*HOME_POINT, srid=4326)
    person.save(update_fields=["home_location"])
    response = world.client("other_resident").post(
        SETUP, form(world, home_address="  storgatan 1,  Vansbro ")
    )
    assert response.status_code == 302
    [profile] = profiles(membership)
    assert xy(profile["home_base"]) == HOME_POINT


def test_their_home_address_without_a_point_is_looked_up(world, geocoder):
    membership = make_driver(world)
    response = world.client("other_resident").post(SETUP, form(world, home_address=HOME))
    assert response.status_code == 302
    assert xy(profiles(membership)[0]["home_base"]) == HOME_POINT
    assert [r.query["q"] for r in geocoder.requests] == [HOME]


def test_coordinates_may_be_given_instead(world, settings):
    settings.GEOCODER_URL = ""
    membership = make_driver(world)
    response = world.client("other_resident").post(
        SETUP, form(world, home_address="", home_lon="14.1", home_lat="60.5")
    )
    assert response.status_code == 302
    assert xy(profiles(membership)[0]["home_base"]) == (14.1, 60.5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"home_address": "Ingenstansvägen 99"},
            "We could not find that address. Check the spelling, add the village",
        ),
        ({"home_address": ""}, "Say where you usually drive from."),
        ({"home_address": "   "}, "Say where you usually drive from."),
        ({"seats": "12"}, "A car has from 1 to 8 passenger seats."),
        ({"radius_km": "tjugo"}, "Enter a number."),
        ({"home_address": "", "home_lon": "14.1"}, "Give both longitude and latitude, or neither."),
        ({"home_address": "x" * 301}, "at most 300 characters (it has 301)"),
    ],
    ids=[
        "address-not-found",
        "no-address",
        "blank-address",
        "too-many-seats",
        "radius-not-a-number",
        "half-coordinates",
        "address-too-long",
    ],
)
def test_bad_input_is_a_400_that_says_why_and_creates_nothing(world, geocoder, changes, message):
    membership = make_driver(world)
    client = world.client("other_resident")
    response = client.post(SETUP, form(world, **changes))
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "<h1>Start driving</h1>" in page
    assert profiles(membership) == []
    assert client.get("/driver/")["Location"] == setup_url(world)


def test_the_geocoder_down_says_so_and_creates_nothing(world, settings):
    settings.GEOCODER_URL = "http://127.0.0.1:9"  # nothing listens there
    settings.GEOCODER_TIMEOUT = 1
    membership = make_driver(world)
    response = world.client("other_resident").post(SETUP, form(world))
    assert response.status_code == 400
    assert "We could not look up the address just now." in response.content.decode()
    assert profiles(membership) == []


# --- Who gets it -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/driver/", SETUP])
@pytest.mark.parametrize("role", ["rider", "other_resident", "coordinator", "proxy"])
def test_someone_without_the_driver_role_still_is_not_a_driver(world, role, url):
    response = world.client(role).get(url)
    assert response.status_code == 403
    assert "You are not a volunteer driver yet." in response.content.decode()


def test_someone_without_the_role_cannot_create_a_profile(world, geocoder):
    response = world.client("other_resident").post(SETUP, form(world))
    assert response.status_code == 403
    assert not DriverProfile.objects.filter(
        membership__user=world.people["other_resident"]
    ).exists()


def test_a_suspended_driver_gets_no_setup(world, geocoder):
    membership = make_driver(world)
    Membership.objects.filter(pk=membership.pk).update(state=MembershipState.SUSPENDED)
    client = world.client("other_resident")
    assert client.get("/driver/").status_code == 403
    assert client.post(SETUP, form(world)).status_code == 403
    assert profiles(membership) == []


def test_a_driver_of_one_association_sets_up_for_another(world, geocoder):
    """Erik drives for Äppelbo; made a driver in a second association too, driver mode
    stays Äppelbo's, and the second one's is set up by choosing it."""
    other = AssociationFactory(name="Järna byalag")
    erik = world.people["holding_driver"]
    second = MembershipFactory(user=erik, association=other, roles=[Role.MEMBER])
    coordinator = MembershipFactory(association=other, roles=[Role.MEMBER, Role.COORDINATOR]).user
    membership_set_roles(actor=coordinator, membership=second, roles=["member", "driver"])
    client = world.client("holding_driver")
    assert client.get("/driver/").status_code == 200
    response = client.get(f"/driver/?association={other.pk}")
    assert response["Location"] == f"{SETUP}?association={other.pk}"
    page = client.get(response["Location"]).content.decode()
    assert "You are a volunteer driver in Järna byalag." in page
    assert f'name="association" value="{other.pk}"' in page
    response = client.post(SETUP, form(world, association=other.pk))
    assert response["Location"] == f"/driver/availability?association={other.pk}"
    assert xy(profiles(second)[0]["home_base"]) == LAKE_POINT
    # Äppelbo's profile is as it was.
    assert DriverProfile.objects.get(pk=world.drivers["holding_driver"].pk).vehicle_description == (
        "Grå Volvo"
    )


# --- An existing driver moves their home base --------------------------------------------------


def test_an_existing_driver_may_move_their_home_base(world, geocoder):
    driver = world.drivers["holding_driver"]
    page = world.client("holding_driver").get(SETUP).content.decode()
    assert "Leave it empty to keep the place you drive from now." in page
    windows = AvailabilityWindow.objects.filter(driver=driver)
    response = world.client("holding_driver").post(SETUP, form(world))
    assert response.status_code == 302
    assert response["Location"] == f"{SETUP}?association={world.a.pk}"
    driver.refresh_from_db()
    assert xy(driver.home_base) == LAKE_POINT
    # The windows carry the home base: rebuilt at the new place.
    assert {xy(w.home_base) for w in windows} == {LAKE_POINT}


def test_an_existing_driver_leaving_the_address_empty_keeps_the_home_base(world, geocoder):
    driver = DriverProfileFactory.build()  # the factory's home base
    profile = world.drivers["holding_driver"]
    response = world.client("holding_driver").post(SETUP, form(world, home_address=""))
    assert response.status_code == 302
    profile.refresh_from_db()
    assert xy(profile.home_base) == xy(driver.home_base)
    assert profile.vehicle_description == "Blå Volvo V70"
    assert geocoder.requests == []


def test_an_existing_driver_with_a_bad_address_changes_nothing(world, geocoder):
    profile = world.drivers["holding_driver"]
    before = profiles(profile.membership)
    response = world.client("holding_driver").post(
        SETUP, form(world, home_address="Ingenstansvägen 99")
    )
    assert response.status_code == 400
    assert "We could not find that address." in response.content.decode()
    assert profiles(profile.membership) == before


# --- Driver mode's start page leads to a second association's setup ---------------------------


def second_association(world, role: str = "holding_driver"):
    """The person, a driver of Äppelbo, made a volunteer driver in Järna byalag too."""
    other = AssociationFactory(name="Järna byalag")
    membership = MembershipFactory(user=world.people[role], association=other, roles=["member"])
    coordinator = MembershipFactory(association=other, roles=[Role.MEMBER, Role.COORDINATOR]).user
    membership_set_roles(actor=coordinator, membership=membership, roles=["member", "driver"])
    return other


def test_driver_mode_shows_the_setup_of_a_second_association(world, geocoder):
    other = second_association(world)
    client = world.client("holding_driver")
    page = client.get("/driver/").content.decode()
    assert "<h2" in page and "You are now a volunteer driver for Järna byalag too</h2>" in page
    assert (
        f'<a class="button" href="{SETUP}?association={other.pk}">'
        "Set up driving for Järna byalag</a>" in page
    )
    # The choice of association lists it too, with the one shown, by name.
    assert (
        f'<p>You drive for: <a href="{SETUP}?association={other.pk}">Järna byalag</a> · '
        '<strong aria-current="page">Äppelbo byalag</strong></p>' in page
    )
    # Once set up, the card is gone and the choice opens its driver mode.
    client.post(SETUP, form(world, association=other.pk))
    page = client.get("/driver/").content.decode()
    assert "You are now a volunteer driver for" not in page
    # (Without a choice driver mode shows the first by name, Järna byalag now.)
    assert (
        '<p>You drive for: <strong aria-current="page">Järna byalag</strong> · '
        f'<a href="/driver/?association={world.a.pk}">Äppelbo byalag</a></p>' in page
    )
    chosen = client.get(f"/driver/?association={world.a.pk}").content.decode()
    assert (
        f'<p>You drive for: <a href="/driver/?association={other.pk}">Järna byalag</a> · '
        '<strong aria-current="page">Äppelbo byalag</strong></p>' in chosen
    )


def test_a_driver_of_one_association_sees_no_choice(world):
    page = world.client("holding_driver").get("/driver/").content.decode()
    assert "You drive for:" not in page
    assert "You are now a volunteer driver for" not in page


def test_the_card_in_swedish(world):
    second_association(world)
    client = world.client("holding_driver")
    client.cookies["django_language"] = "sv"
    page = client.get("/driver/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Nu är du frivillig förare för Järna byalag också</h2>" in page
    assert "Kom igång som förare för Järna byalag</a>" in page
    assert "<p>Du kör för: " in page


def test_a_suspended_membership_elsewhere_offers_no_setup(world):
    other = second_association(world)
    Membership.objects.filter(association=other, user=world.people["holding_driver"]).update(
        state=MembershipState.SUSPENDED
    )
    page = world.client("holding_driver").get("/driver/").content.decode()
    assert "Järna byalag" not in page


def test_the_start_page_asks_no_more_with_a_second_association(world, django_assert_num_queries):
    second_association(world)
    client = world.client("holding_driver")
    client.get("/driver/")
    # As test_driver_pages' pin: session, user, shell, profile, offers, held rides, and
    # the associations driven for (one query, whatever their number).
    with django_assert_num_queries(7):
        assert client.get("/driver/").status_code == 200


def test_the_association_chosen_stays_chosen_on_the_other_driver_pages(world, geocoder):
    """Erik drives for Järna byalag (first by name) and Äppelbo byalag. Once he has chosen
    Äppelbo, the menu's links (which carry no choice) stay in Äppelbo; when he is no
    longer a driver there, driver mode opens Järna's again instead of refusing him."""
    other = second_association(world)
    client = world.client("holding_driver")
    client.post(SETUP, form(world, association=other.pk))

    def driving_for(path: str) -> int:
        response = client.get(path)
        assert response.status_code == 200
        if path == SETUP:  # the setup page, not behind driver_required
            return response.context["membership"].association_id
        return response.wsgi_request.driver.membership.association_id

    assert driving_for(f"/driver/?association={world.a.pk}") == world.a.pk
    for path in ["/driver/", "/driver/km", "/driver/availability", SETUP]:
        assert driving_for(path) == world.a.pk, path
    assert driving_for(f"/driver/?association={other.pk}") == other.pk
    assert driving_for("/driver/km") == other.pk

    client.get(f"/driver/?association={world.a.pk}")
    appelbo = Membership.objects.get(user=world.people["holding_driver"], association=world.a)
    world.held.delete()  # a driver holding rides keeps the role
    membership_set_roles(actor=world.people["coordinator"], membership=appelbo, roles=["member"])
    assert driving_for("/driver/") == other.pk
    assert driving_for("/driver/km") == other.pk
