"""My profile: language and how I am told things; my home address; my data as a file;
erasing my account."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.accounts.contact_confirmations import contact_confirmations_send
from backend.accounts.models import ProxyLink
from backend.accounts.selectors import email_confirmed_by_another, phone_confirmed_by_another
from backend.accounts.services import user_home_change, user_update_profile
from backend.audit.services import audit_record
from backend.community.selectors import (
    proxy_links_of,
    proxy_requests_to,
    proxy_requests_unanswered_of,
)
from backend.community.services import proxy_link_accept, proxy_link_decline
from backend.errors import ApplicationError
from backend.notifications.selectors import quiet_hours_for
from backend.notifications.services import preferences_set
from backend.privacy.access import people_whose_data_actor_handles, residents_of_proxy
from backend.privacy.export import person_export
from dispatch.privacy import erasure_preview, person_erase
from webapp.forms.profile import ContactForm, EraseForm, HomeForm
from webapp.views.associations import my_memberships
from webapp.views.calendar_feed import calendar_addresses
from webapp.views.common import client_ip, page, show_error
from webapp.views.email_confirmation import contact_confirmations_show
from webapp.views.sessions import remember_language

CONTACT_FIELDS = ["preferred_language", "contact_by_push", "contact_by_sms", "contact_by_email"]
HOME_FIELDS = ["home_address", "home_location"]


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ContactForm(
        request.POST if request.method == "POST" else None, initial=_contact_initial(user)
    )
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        changes = {name: values[name] for name in CONTACT_FIELDS}
        if values["email"] != user.email:
            changes["email"] = values["email"]
        # A form without the field (an older page) leaves the number as it is. As typed:
        # the service writes it in E.164 (the same number spelled otherwise is no
        # change), or says why it cannot.
        if "phone" in request.POST:
            changes["phone"] = values["phone"]
        try:
            with transaction.atomic():
                before = {name: getattr(user, name) for name in changes}
                user_update_profile(user=user, changes=changes)
                preferences_set(user=user, quiet_hours=(values["quiet_start"], values["quiet_end"]))
                changed = sorted(name for name in changes if before[name] != getattr(user, name))
                if changed:
                    audit_record(
                        actor=user,
                        action="profile.change",
                        subject=user,
                        detail={"fields": changed},
                    )
        except ApplicationError as error:
            user.refresh_from_db()
            show_error(request, error, form, fields={"quiet_hours": "quiet_end"})
        else:
            messages.success(request, _("Your choices are saved."))
            response = redirect(_after_saving(request, changed=changed))
            remember_language(response, values["preferred_language"])
            return response
    return _profile_page(request, form=form, status=400 if form.errors else 200)


@login_required
@require_POST
def home(request: HttpRequest) -> HttpResponse:
    """Set, move or remove my own home address (never anyone else's: a managed profile
    has no sign-in, and the coordinators change theirs in the console). Saved by
    `user_home_change`; when the address cannot be found, the profile again with the
    message at the field and nothing changed."""
    user = request.user
    form = HomeForm(request.POST)
    if form.is_valid():
        removing = "remove" in request.POST
        before = _home_of(user)
        try:
            user_home_change(
                user=user,
                address="" if removing else form.cleaned_data["home_address"],
                point=form.point("home"),
            )
        except ApplicationError as error:
            show_error(request, _without_a_map(error), form)
        else:
            after = _home_of(user)
            changed = [
                name
                for name, old, new in zip(HOME_FIELDS, before, after, strict=True)
                if old != new
            ]
            if changed:
                # The names of the fields, never the address: the log must not copy it.
                audit_record(
                    actor=user, action="profile.change", subject=user, detail={"fields": changed}
                )
            if user.home_address:
                messages.success(request, _("Your home address is saved."))
            else:
                messages.success(request, _("Your home address is removed."))
            return redirect("webapp:profile")
    return _profile_page(request, home_form=form, status=400)


def _without_a_map(error: ApplicationError) -> ApplicationError:
    """The geocoder's refusal as this page can be helped: it has no map to pick the place
    on (the booking forms do), but fields for the home's coordinates."""
    if error.code == "address_not_found":
        error.message = _(
            "We could not find that address. Check the spelling and add the village, or "
            "give its coordinates below."
        )
    elif error.code == "geocoder_unavailable":
        error.message = (
            _("Addresses cannot be looked up here. Give the coordinates of your home below.")
            if not settings.GEOCODER_URL
            else _(
                "We could not look up the address just now. Try again, or give its "
                "coordinates below."
            )
        )
        error.fields = {"home_address": [_("Give the coordinates below.")]}
    return error


def _home_of(user) -> tuple[str, tuple | None]:
    """The home as values to compare: the address and the point's coordinates."""
    location = user.home_location
    return user.home_address, (location.coords if location is not None else None)


def _contact_initial(user) -> dict:
    """The contact choices as they are now, to change."""
    start, end = quiet_hours_for(user)
    initial = {name: getattr(user, name) for name in [*CONTACT_FIELDS, "phone", "email"]}
    return {**initial, "quiet_start": start, "quiet_end": end}


def _profile_page(
    request: HttpRequest,
    *,
    form: ContactForm | None = None,
    home_form: HomeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The profile with its forms: the one sent (with its errors) and the others as they
    are now."""
    user = request.user
    if form is None:
        form = ContactForm(initial=_contact_initial(user))
    if home_form is None:
        home_form = HomeForm(initial={"home_address": user.home_address})
    return page(
        request,
        "webapp/profile/profile.html",
        {
            "form": form,
            "home_form": home_form,
            "residents": residents_of_proxy(proxy=user),
            "requests": proxy_requests_to(proxy=user),
            "helpers": proxy_links_of(resident=user).accepted(),
            "asked": proxy_requests_unanswered_of(resident=user),
            # Someone else confirmed it first: no code or link will ever confirm it here.
            "phone_taken": user.phone_unconfirmed
            and phone_confirmed_by_another(phone=user.phone, exclude_id=user.pk),
            "email_taken": user.email_unconfirmed
            and email_confirmed_by_another(email=user.email, exclude_id=user.pk),
            "calendar": calendar_addresses(request, user),
            "memberships": my_memberships(user),
        },
        status=status,
    )


def _after_saving(request: HttpRequest, *, changed: list[str]) -> str:
    """Where the profile goes after saving: to confirming a new number, with a code
    texted to it at once, else back to the profile. A new e-mail address gets its link
    at once too (the profile offers another). Either is saved all the same when its
    code or link does not go."""
    sent = contact_confirmations_send(
        user=request.user,
        phone_is_new="phone" in changed,
        email_is_new="email" in changed,
        client_ip=client_ip(request),
    )
    contact_confirmations_show(request, sent)
    return reverse("webapp:phone-confirm" if sent.phone_to_confirm else "webapp:profile")


def _request_to_me(request: HttpRequest, resident_pk: int) -> ProxyLink:
    """The link asking the signed-in person to help `resident_pk`; 404 for anyone else,
    who may not know there is one."""
    return get_object_or_404(
        ProxyLink.objects.select_related("resident", "proxy"),
        resident_id=resident_pk,
        proxy=request.user,
    )


@login_required
@require_POST
def proxy_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Say yes to helping the person `pk`."""
    link = _request_to_me(request, pk)
    try:
        link = proxy_link_accept(actor=request.user, link=link)
    except ApplicationError as error:
        show_error(request, error)
    else:
        audit_record(
            actor=request.user,
            action="proxy.accept",
            subject=link.resident,
            detail={"proxy": link.proxy_id},
        )
        messages.success(request, _("You now help %(name)s.") % {"name": link.resident.full_name})
    return redirect("webapp:profile")


@login_required
@require_POST
def proxy_decline(request: HttpRequest, pk: int) -> HttpResponse:
    """Say no to a request: it is gone, and nothing of it stays with either person."""
    link = _request_to_me(request, pk)
    try:
        proxy_link_decline(actor=request.user, link=link)
    except ApplicationError as error:
        show_error(request, error)
        return redirect("webapp:profile")
    # Kept as the proxy's own act: under the resident, their export would name
    # who said no, which the resident is not told (docs/privacy.md, "Audit log").
    audit_record(
        actor=request.user,
        action="proxy.decline",
        subject=request.user,
        detail={"resident": link.resident_id},
    )
    messages.success(request, _("You said no. Nothing more happens."))
    return redirect("webapp:profile")


@login_required
@require_GET
def export(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Everything about me (or about someone I am proxy for) as one JSON file."""
    person = (
        get_object_or_404(people_whose_data_actor_handles(actor=request.user), pk=pk)
        if pk is not None
        else request.user
    )
    data = person_export(user=person)
    audit_record(actor=request.user, action="profile.export", subject=person)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    name = f"samby-{timezone.localdate():%Y-%m-%d}.json"
    if person.pk != request.user.pk:
        name = f"samby-{person.pk}-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def erase(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Erase my account, or the account of someone I am proxy for: first what it would
    call off, then the box to tick."""
    person = (
        get_object_or_404(people_whose_data_actor_handles(actor=request.user), pk=pk)
        if pk is not None
        else request.user
    )
    myself = person.pk == request.user.pk
    form = EraseForm(request.POST if request.method == "POST" else None)
    if not myself:
        form.fields["confirm"].label = _(
            "I understand that this account and its data are removed for good."
        )
    if request.method == "POST" and form.is_valid():
        try:
            person_erase(user=person, actor=request.user)
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            if myself:
                logout(request)
                return redirect("webapp:erased")
            messages.success(request, _("The account is erased."))
            return redirect("webapp:profile")
    return page(
        request,
        "webapp/profile/erase.html",
        {
            "form": form,
            "person": person,
            "myself": myself,
            "preview": erasure_preview(user=person),
        },
        status=400 if form.errors else 200,
    )


@require_GET
def erased(request: HttpRequest) -> HttpResponse:
    return page(request, "webapp/profile/erased.html")
