from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from backend.notifications.selectors import inbox, notification_message
from backend.rides.models import (
    CLOSED_STATES,
    DRIVER_HOLDS,
    OPEN_STATES,
    Offer,
    OfferState,
    RideRequest,
)
from backend.rides.selectors import rides_of_rider
from webapp.views.carpool import home_carpool
from webapp.views.common import page
from webapp.views.sharing import home_sharing
from webapp.views.shop_runs import home_shop_runs


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """My next rides (and those of people I book for), rides I drive, offers waiting for
    my answer, and what I have not read yet."""
    user = request.user
    language = user.preferred_language
    unread = inbox(user=user).filter(read_at__isnull=True)[:5]
    next_rides = (
        rides_of_rider(actor=user)
        .exclude(state__in=CLOSED_STATES)
        .select_related("village")
        .order_by("earliest_pickup")[:5]
    )
    driving = (
        RideRequest.objects.filter(driver__membership__user=user, state__in=DRIVER_HOLDS)
        .select_related("village")
        .order_by("planned_pickup")[:5]
    )
    offers = Offer.objects.filter(
        driver__membership__user=user, state=OfferState.PENDING, ride__state__in=OPEN_STATES
    ).count()
    return page(
        request,
        "webapp/home/home.html",
        {
            "next_rides": next_rides,
            "driving": driving,
            "offers_waiting": offers,
            "unread_notifications": [
                notification_message(n, language=language) | {"created": n.created_at}
                for n in unread
            ],
            **home_carpool(user),
            **home_shop_runs(user),
            **home_sharing(user),
        },
    )
