"""Things a resident lends, on the web pages without JavaScript: lend something, change
it, answer booking requests (approve, decline with a reason), see what is booked, take
it out of service and back, photos. Only the owner comes in (anyone else gets a 404,
which does not say the thing exists); bad input is answered with what to change and
writes nothing; coordinators still answer in the console."""

import datetime
import io

import pytest
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from backend.community.models import Role
from backend.notifications.models import Notification
from backend.sharing.models import (
    ApprovalMode,
    Booking,
    BookingStatus,
    ProblemReport,
    Resource,
    ResourceKind,
    ResourcePhoto,
)
from backend.sharing.services import resource_photo_add
from tests.factories import VANSBRO, AssociationFactory, MembershipFactory
from tests.fakes.geocoder import FakeNominatim
from tests.sharing_fixtures import ResourceFactory
from tests.webapp.sharing_world import add_sharing, book_form, sharing_snapshot, tomorrow_at

pytestmark = pytest.mark.django_db

MINE = "/sharing/mine"
NEW = "/sharing/new"


@pytest.fixture
def shared(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return add_sharing(world)


@pytest.fixture
def trailer(shared):
    """Lars's trailer: he approves each booking."""
    shared.trailer.approval_mode = ApprovalMode.OWNER
    shared.trailer.save()
    return shared.trailer


def thing_form(association, **changes) -> dict:
    values = {
        "association": association.pk,
        "title": "Borrmaskin",
        "kind": ResourceKind.TOOL,
        "category": "Drill",
        "description": "Slagborr med två batterier.",
        "rules": "Ladda batterierna innan du lämnar tillbaka den.",
        "approval_mode": ApprovalMode.OWNER,
        "price_per_hour_kr": "",
        "price_per_day_kr": "25.50",
        "deposit_kr": "100",
        "min_minutes": 60,
        "max_minutes": 3 * 24 * 60,
        "buffer_minutes": 30,
        "place_address": "",
        "place_lon": "14.2301",
        "place_lat": "60.5102",
        "pickup_instructions": "I förrådet bakom huset",
        "key_location": "",
        "seats": "",
        "fuel": "",
        "odometer_km": "",
        "price_per_km_kr": "",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def edit_form(resource: Resource, **changes) -> dict:
    values = thing_form(resource.association, title=resource.title, category=resource.category)
    values.pop("association")
    values.update(active="on", place_lon="", place_lat="")
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def png(name="borr.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 30, 30)).save(out, format="PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def state() -> list:
    """What a refused request must leave as it was."""
    return [
        *sharing_snapshot(),
        *Booking.objects.order_by("pk").values_list("pk", "status", "reason", "decided_by_id"),
        *Resource.objects.order_by("pk").values_list(
            "pk", "title", "active", "approval_mode", "price_per_day_ore", "location"
        ),
        ("photos", ResourcePhoto.objects.count()),
        ("notifications", Notification.objects.count()),
    ]


def request_booking(shared, resource, who="other_resident", hour=10) -> Booking:
    response = shared.client(who).post(
        f"/sharing/{resource.pk}/book", book_form(shared.people[who], tomorrow_at(hour))
    )
    assert response.status_code == 302, response.content.decode()[:800]
    return Booking.objects.latest("pk")


# --- Who may come in --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [MINE, NEW, "/sharing/mine/{pk}/edit"])
def test_anonymous_is_sent_to_sign_in(shared, path):
    response = shared.client("anonymous").get(path.format(pk=shared.trailer.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in?next=")


def test_anonymous_writes_nothing(shared, trailer):
    booking = request_booking(shared, trailer)
    before = state()
    client = shared.client("anonymous")
    pk = trailer.pk
    for path, data in [
        (NEW, thing_form(shared.a)),
        (f"/sharing/mine/{pk}/edit", edit_form(trailer, title="Annat")),
        (f"/sharing/mine/{pk}/approve", {"booking": booking.pk}),
        (f"/sharing/mine/{pk}/decline", {"booking": booking.pk}),
        (f"/sharing/mine/{pk}/out-of-service", {"text": "Punktering"}),
        (f"/sharing/mine/{pk}/in-service", {}),
    ]:
        response = client.post(path, data)
        assert response.status_code == 302 and response["Location"].startswith("/sign-in")
    assert state() == before


def test_the_pages_link_to_the_things_i_lend(shared):
    client = shared.client("owner")
    assert 'href="/sharing/mine"' in client.get("/sharing/").content.decode()
    assert 'href="/sharing/mine"' in client.get("/").content.decode()
    edit = f'href="/sharing/mine/{shared.trailer.pk}/edit"'
    assert edit in client.get(f"/sharing/{shared.trailer.pk}/").content.decode()
    # Only the owner is offered to change it.
    page = shared.client("coordinator").get(f"/sharing/{shared.trailer.pk}/").content.decode()
    assert edit not in page


# --- Lend something ---------------------------------------------------------------------------


def test_a_member_lends_a_drill_and_it_is_listed_as_hers(shared):
    rider = shared.people["rider"]
    client = shared.client("rider")
    response = client.post(NEW, thing_form(shared.a))
    assert response.status_code == 302 and response["Location"] == MINE
    drill = Resource.objects.latest("pk")
    assert (drill.owner, drill.association) == (rider, shared.a)
    assert (drill.title, drill.kind, drill.category) == ("Borrmaskin", "tool", "drill")
    assert drill.approval_mode == ApprovalMode.OWNER
    assert (drill.price_per_hour_ore, drill.price_per_day_ore, drill.deposit_ore) == (
        0,
        2550,
        10000,
    )
    assert (drill.min_minutes, drill.max_minutes, drill.buffer_minutes) == (60, 4320, 30)
    assert (drill.location.x, drill.location.y) == (14.2301, 60.5102)
    assert drill.pickup_instructions == "I förrådet bakom huset"
    assert (drill.active, drill.out_of_service, drill.seats, drill.fuel) == (True, False, None, "")
    page = client.get(MINE).content.decode()
    assert "Borrmaskin is listed. We tell you when someone wants to borrow it." in page
    assert "No request is waiting." in page and "Nothing booked ahead." in page


def test_what_i_lend_is_found_by_the_neighbours_but_not_far_away(shared):
    shared.client("rider").post(NEW, thing_form(shared.a, approval_mode=ApprovalMode.MEMBERS))
    page = shared.client("other_resident").get("/sharing/", {"q": "borr"}).content.decode()
    assert "One thing found" in page and "Borrmaskin" in page and "Anna" in page
    # Browsing is by distance from home: someone of another association living in
    # Stockholm does not find it.
    stranger = shared.people["coordinator_elsewhere"]
    stranger.home_location = Point(18.0686, 59.3293, srid=4326)
    stranger.save()
    page = shared.client("coordinator_elsewhere").get("/sharing/", {"q": "borr"}).content.decode()
    assert "0 things found" in page
    assert "Borrmaskin" not in page


def test_members_only_things_cannot_be_booked_by_outsiders(shared):
    shared.client("rider").post(NEW, thing_form(shared.a, approval_mode=ApprovalMode.MEMBERS))
    drill = Resource.objects.latest("pk")
    before = state()
    response = shared.client("coordinator_elsewhere").post(
        f"/sharing/{drill.pk}/book",
        book_form(shared.people["coordinator_elsewhere"], tomorrow_at(10)),
    )
    assert response.status_code == 400
    assert "Only members of Äppelbo byalag can book Borrmaskin" in response.content.decode()
    assert state() == before


def test_with_one_association_it_is_chosen_for_me(shared):
    page = shared.client("rider").get(NEW).content.decode()
    assert f'<input type="hidden" name="association" value="{shared.a.pk}">' in page
    assert "Listed with Äppelbo byalag." in page
    # A member of two chooses.
    other = AssociationFactory(name="Järna idrottsförening")
    MembershipFactory(user=shared.people["rider"], association=other, roles=[Role.MEMBER])
    page = shared.client("rider").get(NEW).content.decode()
    assert '<select name="association"' in page and "Järna idrottsförening" in page


def test_a_car_is_lent_with_its_car_details(shared):
    response = shared.client("rider").post(
        NEW,
        thing_form(
            shared.a,
            title="Annas Volvo",
            kind=ResourceKind.CAR,
            category="car",
            seats="5",
            fuel="diesel",
            odometer_km="150000",
            price_per_km_kr="2.5",
            key_location="Under mattan",
        ),
    )
    assert response.status_code == 302
    car = Resource.objects.latest("pk")
    assert (car.seats, car.fuel, car.odometer_km, car.price_per_km_ore) == (
        5,
        "diesel",
        150_000,
        250,
    )
    assert car.key_location == "Under mattan"


def test_car_details_left_on_a_tool_are_ignored(shared):
    response = shared.client("rider").post(
        NEW, thing_form(shared.a, seats="4", fuel="petrol", price_per_km_kr="3")
    )
    assert response.status_code == 302
    drill = Resource.objects.latest("pk")
    assert (drill.seats, drill.fuel, drill.price_per_km_ore) == (None, "", 0)


def test_an_address_is_looked_up_by_the_geocoder(shared, settings):
    with FakeNominatim({"Storgatan 1, Vansbro": (14.2301, 60.5102)}) as geocoder:
        settings.GEOCODER_URL = geocoder.url
        response = shared.client("rider").post(
            NEW,
            thing_form(shared.a, place_address="Storgatan 1, Vansbro", place_lon="", place_lat=""),
        )
    assert response.status_code == 302
    drill = Resource.objects.latest("pk")
    assert (drill.location.x, drill.location.y) == (14.2301, 60.5102)


def test_an_address_found_in_another_town_is_refused(shared, settings):
    """The geocoder's best hit for a street name can be in another town: the thing is not
    listed there, and the person is told to check the address."""
    before = state()
    with FakeNominatim({"Storgatan 1": (18.0686, 59.3293)}) as geocoder:
        settings.GEOCODER_URL = geocoder.url
        response = shared.client("rider").post(
            NEW, thing_form(shared.a, place_address="Storgatan 1", place_lon="", place_lat="")
        )
    assert response.status_code == 400
    assert "This place is 218 km outside Vansbro, where Äppelbo byalag is." in (
        response.content.decode()
    )
    assert state() == before


def test_a_photo_comes_with_the_new_thing(shared):
    response = shared.client("rider").post(NEW, {**thing_form(shared.a), "photo": png()})
    assert response.status_code == 302
    drill = Resource.objects.latest("pk")
    photo = ResourcePhoto.objects.get(resource=drill)
    assert (photo.uploaded_by, photo.width) == (shared.people["rider"], 800)
    assert photo.image.url in shared.client("rider").get(MINE).content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"title": "   "}, "This field is required."),
        ({"category": ""}, "This field is required."),
        ({"price_per_day_kr": "tjugo"}, "Enter a number."),
        ({"price_per_hour_kr": "-5"}, "greater than or equal to 0"),
        ({"deposit_kr": "1.005"}, "no more than 2 decimal places"),
        ({"price_per_day_kr": "200000"}, "Prices are from 0 (free) to 100 000 kr."),
        ({"approval_mode": "whoever"}, "Select a valid choice"),
        ({"kind": "boat"}, "Select a valid choice"),
        ({"min_minutes": 24 * 60, "max_minutes": 60}, "The shortest booking must be"),
        ({"max_minutes": 999}, "Select a valid choice"),
        (
            {"place_lon": "", "place_lat": ""},
            "Give the address where it is fetched, or pick it on the map.",
        ),
        ({"place_lat": ""}, "Give both longitude and latitude, or neither."),
        ({"place_lon": "200"}, "less than or equal to 180"),
        (
            {"place_address": "Storgatan 1", "place_lon": "", "place_lat": ""},
            "Addresses cannot be looked up here. Pick the place on the map instead.",
        ),
        (
            {"kind": ResourceKind.CAR, "fuel": "petrol", "odometer_km": "10"},
            "A car has 1 to 9 seats.",
        ),
        (
            {"kind": ResourceKind.CAR, "seats": "5", "odometer_km": "10"},
            "Say what the car runs on.",
        ),
        ({"description": "x" * 5001}, "at most 5000 characters"),
        (
            {"kind": ResourceKind.CAR, "seats": "5", "fuel": "petrol", "odometer_km": "9" * 20},
            "less than or equal to 5000000",
        ),
        (
            {"kind": ResourceKind.CAR, "seats": "9" * 20, "fuel": "petrol", "odometer_km": "1"},
            "less than or equal to 1000",
        ),
        (
            {"kind": ResourceKind.CAR, "seats": "12", "fuel": "petrol", "odometer_km": "1"},
            "A car has 1 to 9 seats.",
        ),
        (
            {"place_lon": "18.0686", "place_lat": "59.3293"},
            "This place is 218 km outside Vansbro, where Äppelbo byalag is. Check the address or "
            "the pin on the map and choose a place in Vansbro.",
        ),
        ({"place_lon": "nan"}, "Enter a number."),
        ({"price_per_day_kr": "1e30"}, "Ensure that there are no more than 12 digits in total."),
    ],
)
def test_bad_input_says_what_to_change_and_stores_nothing(shared, changes, message):
    before = state()
    response = shared.client("rider").post(NEW, thing_form(shared.a, **changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert state() == before


def test_a_broken_photo_stores_neither_the_thing_nor_the_photo(shared):
    before = state()
    broken = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    response = shared.client("rider").post(NEW, {**thing_form(shared.a), "photo": broken})
    assert response.status_code == 400
    assert "Upload a valid image." in response.content.decode()
    assert state() == before


def test_nobody_lends_through_an_association_they_are_not_in(shared):
    elsewhere = AssociationFactory(name="Främmande förening")
    before = state()
    response = shared.client("rider").post(NEW, thing_form(elsewhere))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("role", ["proxy", "analyst"])
def test_someone_without_an_association_is_told_to_join_one(shared, role):
    client = shared.client(role)
    response = client.get(NEW)
    assert response.status_code == 403
    assert "Join your village's association first." in response.content.decode()
    before = state()
    assert client.post(NEW, thing_form(shared.a)).status_code == 403
    assert state() == before


# --- Change it --------------------------------------------------------------------------------


def test_the_owner_changes_his_trailer(shared):
    trailer = shared.trailer
    client = shared.client("owner")
    page = client.get(f"/sharing/mine/{trailer.pk}/edit").content.decode()
    assert 'value="Lars släpvagn"' in page and 'value="14.22458"' in page
    assert "Storgatan 12, vid garaget" in page
    response = client.post(
        f"/sharing/mine/{trailer.pk}/edit",
        edit_form(
            trailer,
            title="Lars stora släpvagn",
            price_per_day_kr="150",
            approval_mode=ApprovalMode.OWNER,
            active="",
        ),
    )
    assert response.status_code == 302 and response["Location"] == MINE
    trailer.refresh_from_db()
    assert (trailer.title, trailer.price_per_day_ore) == ("Lars stora släpvagn", 15_000)
    assert (trailer.approval_mode, trailer.active) == (ApprovalMode.OWNER, False)
    assert (trailer.location.x, trailer.location.y) == (VANSBRO.x, VANSBRO.y)  # kept
    page = client.get(MINE).content.decode()
    assert "Lars stora släpvagn" in page and "not listed" in page
    # Unlisted: others do not find it.
    assert "släpvagn" not in shared.client("rider").get("/sharing/").content.decode()


def test_the_owner_moves_his_trailer(shared):
    trailer = shared.trailer
    shared.client("owner").post(
        f"/sharing/mine/{trailer.pk}/edit",
        edit_form(trailer, place_lon="14.3", place_lat="60.52"),
    )
    trailer.refresh_from_db()
    assert (trailer.location.x, trailer.location.y) == (14.3, 60.52)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"price_per_hour_kr": "mycket"}, "Enter a number."),
        ({"price_per_day_kr": "100001"}, "Prices are from 0 (free) to 100 000 kr."),
        ({"place_lon": "14.3"}, "Give both longitude and latitude, or neither."),
        (
            {"place_lon": "15.65", "place_lat": "60.5"},
            "This place is 55 km outside Vansbro, where Äppelbo byalag is.",
        ),
    ],
)
def test_a_bad_change_says_what_to_change_and_changes_nothing(shared, changes, message):
    before = state()
    response = shared.client("owner").post(
        f"/sharing/mine/{shared.trailer.pk}/edit", edit_form(shared.trailer, **changes)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert state() == before


def test_the_owner_adds_and_removes_photos(shared):
    trailer = shared.trailer
    client = shared.client("owner")
    client.post(f"/sharing/mine/{trailer.pk}/edit", {**edit_form(trailer), "photo": png()})
    photo = ResourcePhoto.objects.get(resource=trailer)
    page = client.get(f"/sharing/mine/{trailer.pk}/edit").content.decode()
    assert "Remove photo 1" in page
    # Someone else's photo is not one of his.
    other = resource_photo_add(
        actor=shared.people["coordinator"], resource=shared.car, upload=png()
    )
    before = state()
    response = client.post(f"/sharing/mine/{trailer.pk}/photo-delete", {"photo": other.pk})
    assert response.status_code == 400
    assert "That is not a photo of Lars släpvagn." in response.content.decode()
    assert state() == before
    response = client.post(f"/sharing/mine/{trailer.pk}/photo-delete", {"photo": photo.pk})
    assert response.status_code == 302
    assert not ResourcePhoto.objects.filter(resource=trailer).exists()


# --- Answering requests -----------------------------------------------------------------------


def test_the_owner_is_told_and_approves_a_neighbours_request(shared, trailer):
    booking = request_booking(shared, trailer)
    assert booking.status == BookingStatus.REQUESTED
    told = Notification.objects.get(recipient=shared.people["owner"])
    assert told.kind == "sharing.booking_requested"
    client = shared.client("owner")
    page = client.get(MINE).content.decode()
    assert "Waiting for your answer" in page and "Approve Johan Persson's booking" in page
    response = client.post(f"/sharing/mine/{trailer.pk}/approve", {"booking": booking.pk})
    assert response.status_code == 302 and response["Location"] == MINE
    booking.refresh_from_db()
    assert (booking.status, booking.decided_by) == (BookingStatus.CONFIRMED, shared.people["owner"])
    confirmed = Notification.objects.get(recipient=shared.people["other_resident"])
    assert confirmed.kind == "sharing.booking_confirmed"
    assert confirmed.payload["booking"] == booking.pk
    page = client.get(MINE).content.decode()
    assert "No request is waiting." in page
    assert f'data-booking="{booking.pk}"' in page and "Johan Persson" in page
    # The borrower now sees where to fetch it.
    page = shared.client("other_resident").get("/sharing/bookings").content.decode()
    assert "Storgatan 12, vid garaget" in page


def test_the_owner_declines_with_a_reason(shared, trailer):
    booking = request_booking(shared, trailer, who="rider")
    response = shared.client("owner").post(
        f"/sharing/mine/{trailer.pk}/decline",
        {"booking": booking.pk, "reason": "Släpet är lånat till min bror."},
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.reason) == (
        BookingStatus.DECLINED,
        "Släpet är lånat till min bror.",
    )
    told = Notification.objects.filter(recipient=shared.people["rider"]).latest("pk")
    assert (told.kind, told.payload["reason"]) == (
        "sharing.booking_declined",
        "Släpet är lånat till min bror.",
    )


def test_a_decline_without_a_reason_is_fine(shared, trailer):
    booking = request_booking(shared, trailer)
    shared.client("owner").post(f"/sharing/mine/{trailer.pk}/decline", {"booking": booking.pk})
    booking.refresh_from_db()
    assert (booking.status, booking.reason) == (BookingStatus.DECLINED, "")


def test_instant_booking_needs_no_answer(shared):
    # Lars's trailer as listed: booked at once.
    booking = request_booking(shared, shared.trailer)
    assert booking.status == BookingStatus.CONFIRMED
    page = shared.client("owner").get(MINE).content.decode()
    assert "No request is waiting." in page
    assert f'data-booking="{booking.pk}"' in page and "Johan Persson" in page


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("approve", {"booking": "tre"}, "Enter a whole number."),
        ("approve", {}, "This field is required."),
        ("decline", {"booking": "{b}", "reason": "x" * 301}, "at most 300 characters"),
        ("approve", {"booking": "{car}"}, "That is not a booking of Lars släpvagn."),
        ("decline", {"booking": "{car}"}, "That is not a booking of Lars släpvagn."),
        ("approve", {"booking": "{done}"}, "This booking is confirmed and cannot be changed"),
    ],
)
def test_a_bad_answer_says_what_to_change_and_writes_nothing(
    shared, trailer, action, data, message
):
    booking = request_booking(shared, trailer)
    car_booking = request_booking(shared, shared.car, who="rider", hour=14)
    trailer.approval_mode = ApprovalMode.AUTOMATIC
    trailer.save()
    done = request_booking(shared, trailer, who="rider", hour=16)
    ids = {"b": booking.pk, "car": car_booking.pk, "done": done.pk}
    data = {key: value.format(**ids) for key, value in data.items()}
    before = state()
    response = shared.client("owner").post(f"/sharing/mine/{trailer.pk}/{action}", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert state() == before


def test_my_things_page_reads_the_same_queries_however_much_i_lend(
    shared, trailer, django_assert_num_queries
):
    client = shared.client("owner")
    client.get(MINE)
    # session, user, shell (1), things, their photos, their bookings
    with django_assert_num_queries(6):
        client.get(MINE)
    for n in range(3):
        extra = ResourceFactory(
            association=shared.a, owner=shared.people["owner"], title=f"Stege {n}"
        )
        request_booking(shared, extra, hour=8 + n)
    request_booking(shared, trailer, who="rider")
    with django_assert_num_queries(6):
        page = client.get(MINE).content.decode()
    assert page.count("data-thing=") == 4 and page.count("data-booking=") == 3


# --- Out of service ---------------------------------------------------------------------------


def test_out_of_service_cancels_what_is_booked_and_hides_it(shared, trailer):
    booking = request_booking(shared, trailer)
    client = shared.client("owner")
    response = client.post(
        f"/sharing/mine/{trailer.pk}/out-of-service", {"text": "Punktering på vänster hjul"}
    )
    assert response.status_code == 302
    trailer.refresh_from_db()
    booking.refresh_from_db()
    assert trailer.out_of_service and booking.status == BookingStatus.CANCELLED
    report = ProblemReport.objects.get(resource=trailer)
    assert (report.kind, report.reporter) == ("breakdown", shared.people["owner"])
    told = Notification.objects.filter(recipient=shared.people["other_resident"]).latest("pk")
    assert told.kind == "sharing.out_of_service"
    assert "släpvagn" not in shared.client("rider").get("/sharing/").content.decode()
    before = state()
    response = shared.client("rider").post(
        f"/sharing/{trailer.pk}/book", book_form(shared.people["rider"], tomorrow_at(10))
    )
    assert response.status_code == 400
    assert "cannot be booked right now" in response.content.decode()
    assert state() == before
    # Out twice: said so, nothing written.
    response = client.post(f"/sharing/mine/{trailer.pk}/out-of-service", {"text": "Igen"})
    assert response.status_code == 400 and "already out of service" in response.content.decode()
    assert state() == before
    # Back: listed and bookable again.
    assert client.post(f"/sharing/mine/{trailer.pk}/in-service").status_code == 302
    trailer.refresh_from_db()
    assert not trailer.out_of_service
    assert "släpvagn" in shared.client("rider").get("/sharing/").content.decode()
    before = state()
    response = client.post(f"/sharing/mine/{trailer.pk}/in-service")
    assert response.status_code == 400 and "is already in service" in response.content.decode()
    assert state() == before


def test_out_of_service_needs_to_say_what_is_wrong(shared, trailer):
    before = state()
    response = shared.client("owner").post(f"/sharing/mine/{trailer.pk}/out-of-service", {})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert state() == before


# --- Nobody else --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", ["rider", "other_resident", "coordinator", "coordinator_elsewhere", "proxy", "analyst"]
)
def test_nobody_else_reaches_my_thing(shared, trailer, role):
    booking = request_booking(shared, trailer)
    photo = resource_photo_add(actor=shared.people["owner"], resource=trailer, upload=png())
    before = state()
    client = shared.client(role)
    pk = trailer.pk
    assert client.get(f"/sharing/mine/{pk}/edit").status_code == 404
    for path, data in [
        (f"/sharing/mine/{pk}/edit", edit_form(trailer, title="Min nu")),
        (f"/sharing/mine/{pk}/approve", {"booking": booking.pk}),
        (f"/sharing/mine/{pk}/decline", {"booking": booking.pk, "reason": "Nej"}),
        (f"/sharing/mine/{pk}/out-of-service", {"text": "Trasig"}),
        (f"/sharing/mine/{pk}/in-service", {}),
        (f"/sharing/mine/{pk}/photo-delete", {"photo": photo.pk}),
    ]:
        assert client.post(path, data).status_code == 404, path
    page = client.get(MINE).content.decode()
    assert "Lars släpvagn" not in page and "Johan Persson" not in page
    assert state() == before


def test_nobody_approves_someone_elses_booking_through_their_own_thing(shared, trailer):
    """Johan lends a ladder; he cannot answer a request for Lars's trailer through it."""
    ladder = ResourceFactory(association=shared.a, owner=shared.people["other_resident"])
    booking = request_booking(shared, trailer, who="rider")
    before = state()
    client = shared.client("other_resident")
    response = client.post(f"/sharing/mine/{ladder.pk}/approve", {"booking": booking.pk})
    assert response.status_code == 400
    response = client.post(f"/sharing/mine/{ladder.pk}/decline", {"booking": booking.pk})
    assert response.status_code == 400
    assert state() == before


def test_a_coordinator_still_answers_in_the_console(shared, trailer):
    booking = request_booking(shared, trailer)
    response = shared.client("coordinator").post(
        f"/console/sharing/bookings/{booking.pk}/approve", {"association": shared.a.pk}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.decided_by) == (
        BookingStatus.CONFIRMED,
        shared.people["coordinator"],
    )
    # And the owner sees it booked.
    page = shared.client("owner").get(MINE).content.decode()
    assert f'data-booking="{booking.pk}"' in page and "No request is waiting." in page


def test_a_booking_answered_elsewhere_is_said_so(shared, trailer):
    booking = request_booking(shared, trailer)
    shared.client("coordinator").post(
        f"/console/sharing/bookings/{booking.pk}/decline",
        {"association": shared.a.pk, "reason": "Upptagen"},
    )
    before = state()
    response = shared.client("owner").post(
        f"/sharing/mine/{trailer.pk}/approve", {"booking": booking.pk}
    )
    assert response.status_code == 400
    assert "This booking is declined and cannot be changed that way." in response.content.decode()
    assert state() == before


def test_past_bookings_are_not_shown_as_booked(shared):
    booking = request_booking(shared, shared.trailer)
    yesterday = tomorrow_at(10) - datetime.timedelta(days=2)
    Booking.objects.filter(pk=booking.pk).update(
        starts_at=yesterday,
        ends_at=yesterday + datetime.timedelta(hours=2),
        blocked_until=yesterday + datetime.timedelta(hours=2),
    )
    page = shared.client("owner").get(MINE).content.decode()
    assert f'data-booking="{booking.pk}"' not in page and "Nothing booked ahead." in page
