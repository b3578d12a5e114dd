"""Shop runs for residents and their relatives: the coming runs of their associations,
signing up (themself or someone they book for; picked up at home unless told
otherwise; every week if they like), their sign-ups with the estimated pickup time and
their place on the waitlist, answering a seat offered from the waitlist, cancelling.

Same selectors and services as the API (backend.shuttle, dispatch.shop_runs)."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.accounts.models import User
from backend.community.models import MembershipState
from backend.community.selectors import (
    PeopleActable,
    people_actable_by,
    people_actable_in,
)
from backend.errors import ApplicationError
from backend.rides.models import Need
from backend.shuttle.models import (
    ACTIVE_SIGNUP,
    OccurrenceState,
    RunOccurrence,
    SignupState,
)
from backend.shuttle.selectors import (
    occurrences_visible_to,
    signup_cards,
    signups_of,
    standing_signups_of,
    with_waitlist_position,
)
from backend.shuttle.services import signup_cancellable, standing_end
from dispatch.shop_runs import seat_answer, signup_submit, signup_withdraw
from webapp.forms.shop_runs import SignupForm
from webapp.views.common import me_first, page, show_error
from webapp.views.limits import booking_limited, booking_made

SIGNUP_FIELDS = {"pickup": "pickup_address", "needs": "needs", "passenger": "passenger"}
# Sign-ups of runs that ended more than this long ago are no longer shown.
RECENT = dt.timedelta(hours=12)


def coming_runs(user: User):
    return (
        occurrences_visible_to(user=user)
        .filter(state=OccurrenceState.SCHEDULED, leave_at__gt=timezone.now())
        .select_related("schedule", "association")
        .order_by("arrive_at", "pk")
    )


def my_signups(user: User):
    """Sign-ups of the people `user` books for (themself too) for runs still to come."""
    return with_waitlist_position(
        signups_of(actor=user).filter(
            state__in=ACTIVE_SIGNUP, occurrence__leave_at__gt=timezone.now() - RECENT
        )
    ).select_related("occurrence__association")


@login_required
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    now = timezone.now()
    signups = list(my_signups(user)[:50])
    signed = {}
    for signup in signups:
        signup.need_labels = [str(Need(need).label) for need in signup.needs]
        signed.setdefault(signup.occurrence_id, []).append(signup.passenger.full_name)
    runs = [
        {
            "run": run,
            "open": run.signup_deadline > now,
            "signed_up": signed.get(run.pk, []),
        }
        for run in coming_runs(user)[:20]
    ]
    standing = standing_signups_of(actor=user).filter(active=True)
    return page(
        request,
        "webapp/shop_runs/list.html",
        {"runs": runs, "signups": signups, "standing": standing, "now": now},
    )


def _passengers(user: User, run: RunOccurrence) -> list[tuple[int, str]]:
    """Who `user` may sign up for this run: themself and those they book for in the run's
    association (`people_actable_in`), when they are active members of it."""
    rows = list(
        people_actable_in(actor=user, association_id=run.association_id)
        .filter(
            memberships__association_id=run.association_id,
            memberships__state=MembershipState.ACTIVE,
        )
        .distinct()
        .order_by("full_name")
        .values_list("pk", "full_name")
    )
    return me_first(user, rows)


@login_required
@require_http_methods(["GET", "POST"])
@booking_limited
def signup(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(coming_runs(request.user), pk=pk)
    passengers = _passengers(request.user, run)
    form = SignupForm(
        request.POST if request.method == "POST" else None,
        passengers=passengers,
        me=request.user.pk,
    )
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        passenger = get_object_or_404(people_actable_by(actor=request.user), pk=values["passenger"])
        try:
            pickup, address = (None, "")
            if values["pickup_address"]:
                pickup, address = form.place("pickup")
            made = signup_submit(
                actor=request.user,
                occurrence=run,
                passenger=passenger,
                pickup=pickup,
                pickup_address=address,
                needs=values["needs"],
                note=values["note"],
                standing=values["every_week"],
                waitlist=values["waitlist"],
            )
        except ApplicationError as error:
            show_error(request, error, form, fields=SIGNUP_FIELDS)
        else:
            booking_made(request)
            if made.state == SignupState.WAITLISTED:
                messages.success(
                    request,
                    _("The run is full: %(name)s is on the waitlist. We tell you if a seat frees.")
                    % {"name": passenger.full_name},
                )
            else:
                messages.success(
                    request, _("%(name)s is signed up.") % {"name": passenger.full_name}
                )
            return redirect("webapp:shop-runs")
    homes = dict(
        people_actable_by(actor=request.user)
        .filter(pk__in=[pk for pk, _name in passengers])
        .values_list("full_name", "home_address")
    )
    return page(
        request,
        "webapp/shop_runs/signup.html",
        {"run": run, "form": form, "homes": homes, "can_sign_up": bool(passengers)},
        status=400 if form.errors else 200,
    )


def _mine(request: HttpRequest, pk: int):
    return get_object_or_404(
        signups_of(actor=request.user).select_related(
            "occurrence__association", "occurrence__schedule", "passenger"
        ),
        pk=pk,
    )


@login_required
@require_http_methods(["GET", "POST"])
def signup_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks first ("Cancel Greta's seat on the shop run on Thursday …?"), so a
    mis-tap on the list cancels nothing; the POST of that page (or of the apps) cancels."""
    signup = _mine(request, pk)
    if request.method == "GET":
        if not signup_cancellable(signup):
            messages.error(request, _("This seat can no longer be cancelled."))
            return redirect("webapp:shop-runs")
        return page(request, "webapp/shop_runs/cancel.html", {"signup": signup})
    try:
        signup_withdraw(actor=request.user, signup=signup)
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(
            request,
            _("%(name)s no longer comes along on this run.") % {"name": signup.passenger.full_name},
        )
    return redirect("webapp:shop-runs")


@login_required
@require_POST
def seat_offer(request: HttpRequest, pk: int, answer: str) -> HttpResponse:
    """A seat offered from the waitlist: take it, or let the next one have it."""
    signup = _mine(request, pk)
    if answer not in ("accept", "decline"):
        messages.error(request, _("Choose accept or decline."))
        return redirect("webapp:shop-runs")
    try:
        seat_answer(actor=request.user, signup=signup, accept=answer == "accept")
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(
            request,
            _("The seat is yours.") if answer == "accept" else _("The seat goes to the next."),
        )
    return redirect("webapp:shop-runs")


@login_required
@require_POST
def standing_stop(request: HttpRequest, pk: int) -> HttpResponse:
    standing = get_object_or_404(standing_signups_of(actor=request.user), pk=pk)
    try:
        standing_end(actor=request.user, standing=standing)
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(
            request, _("No more weekly sign-ups. Runs already signed up for stay: cancel them.")
        )
    return redirect("webapp:shop-runs")


def home_shop_runs(user: User, people: PeopleActable) -> dict:
    """For the start page: the next sign-ups of me and whom I book for (`people`, from
    `people_actable_scope`). Those of `my_signups` whose run is still to come (a run
    arrives before it leaves, so it has not left either)."""
    return {"shop_signups": signup_cards(people=people, since=timezone.now(), limit=3)}
