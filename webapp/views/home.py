from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from backend.community.models import MembershipState
from backend.community.selectors import membership_states_of, people_actable_scope
from backend.notifications.selectors import notification_message, unread_of
from backend.rides.models import OPEN_STATES, Offer, OfferState
from backend.rides.selectors import (
    driver_profile_ids_of,
    ride_cards_of_drivers,
    ride_cards_of_riders,
)
from webapp.views.carpool import home_carpool
from webapp.views.common import page
from webapp.views.console.common import row_url
from webapp.views.sharing import home_sharing
from webapp.views.shop_runs import home_shop_runs


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """My next rides (and those of people I book for), rides I drive, offers waiting for
    my answer, and what I have not read yet."""
    user = request.user
    language = user.preferred_language
    # Who I book for and my driver profiles are looked up once; the sections then filter
    # by these ids, which is much cheaper per query than repeating the joins.
    people = people_actable_scope(actor=user)
    driver_ids = driver_profile_ids_of(user=user)
    unread = unread_of(user=user, limit=5)
    # Without an active membership little works: the start page says how to join.
    states = membership_states_of(user=user)
    open_url = row_url("webapp:notification-open")
    next_rides = ride_cards_of_riders(people=people, closed=False, limit=5)
    driving, offers = [], 0
    if driver_ids:  # most people do not drive: two queries saved
        driving = ride_cards_of_drivers(driver_ids=driver_ids, limit=5)
        offers = Offer.objects.filter(
            driver_id__in=driver_ids, state=OfferState.PENDING, ride__state__in=OPEN_STATES
        ).count()
    return page(
        request,
        "webapp/home/home.html",
        {
            "next_rides": next_rides,
            "driving": driving,
            "offers_waiting": offers,
            "not_member": MembershipState.ACTIVE not in states,
            "join_waiting": MembershipState.PENDING in states,
            "unread_notifications": [
                notification_message(n, language=language)
                | {"created": n.created_at, "open": open_url(n.pk)}
                for n in unread
            ],
            **home_carpool(user, people),
            **home_shop_runs(user, people),
            **home_sharing(user),
        },
    )
