"""Associations for residents: finding one's village association, asking to join it (as a
member, and a volunteer driver if one wishes), taking back a request not answered yet,
and seeing one's memberships with their state."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.accounts.models import User
from backend.community.models import Membership, MembershipState, Role
from backend.community.selectors import (
    associations_to_join,
    associations_visible_to,
    memberships_of,
)
from backend.community.services import membership_request, membership_withdraw
from backend.errors import ApplicationError
from webapp.forms.associations import AssociationSearchForm, JoinForm
from webapp.views.common import page, show_error

# At most this many associations on the page; a search narrows them.
SHOWN = 50
# From this many associations on, the page offers the search.
SEARCH_FROM = 6


def membership_words(membership: Membership) -> dict:
    """A membership as the person reads it: the state and roles in words, the reason of
    a suspension, and whether the request can still be taken back."""
    roles = dict(Role.choices)
    return {
        "pk": membership.pk,
        "association": membership.association,
        "state": membership.state,
        "state_label": membership.get_state_display(),
        "reason": membership.state_reason,
        "roles_label": ", ".join(str(roles.get(role, role)) for role in membership.roles),
        "pending": membership.state == MembershipState.PENDING,
        "active": membership.state == MembershipState.ACTIVE,
        "suspended": membership.state == MembershipState.SUSPENDED,
    }


def my_memberships(user: User) -> list[dict]:
    """The person's memberships, by association name, as `membership_words` gives them."""
    return [membership_words(m) for m in memberships_of(user=user)]


@login_required
@require_GET
def association_list(request: HttpRequest) -> HttpResponse:
    """Every association, the person's own and those near their home first, each with
    its villages, public contact and the person's membership in it; a search by name or
    village when there are many."""
    user = request.user
    form = AssociationSearchForm(request.GET or None)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    found = list(associations_to_join(user=user, search=search)[: SHOWN + 1])
    mine = {m["association"].pk: m for m in my_memberships(user)}
    rows = [
        {
            "association": association,
            "villages": ", ".join(village.name for village in association.villages.all()),
            "near_home": association.near_home,
            "membership": mine.get(association.pk),
        }
        for association in found[:SHOWN]
    ]
    return page(
        request,
        "webapp/associations/list.html",
        {
            "form": form,
            "rows": rows,
            "search": search,
            "more": len(found) > SHOWN,
            "offer_search": bool(request.GET) or len(found) >= SEARCH_FROM,
            "active_member": any(m["active"] for m in mine.values()),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def association_join(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask to join the association: a member, and a volunteer driver if ticked."""
    association = get_object_or_404(associations_visible_to(user=request.user), pk=pk)
    form = JoinForm(request.POST)
    driver = form.cleaned_data["driver"] if form.is_valid() else False
    roles = [Role.MEMBER, Role.DRIVER] if driver else [Role.MEMBER]
    try:
        membership_request(user=request.user, association=association, roles=roles)
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(
            request,
            _(
                "You have asked to join %(association)s. Its coordinators will answer, and "
                "we will tell you when they have."
            )
            % {"association": association.name},
        )
    return redirect("webapp:associations")


@login_required
@require_POST
def membership_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Take back one's own request to join while it waits; anyone else's is a 404."""
    membership = get_object_or_404(memberships_of(user=request.user), pk=pk)
    try:
        membership_withdraw(actor=request.user, membership=membership)
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(
            request,
            _("Your request to join %(association)s is withdrawn.")
            % {"association": membership.association.name},
        )
    return redirect("webapp:associations")
