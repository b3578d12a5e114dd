from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backend.accounts.models import ProxyInvitation, ProxyLink, User
from backend.accounts.proxy_invitations import invitations_expire_before, phone_number_lock
from backend.accounts.selectors import user_find_login
from backend.accounts.services import clean_phone
from backend.community.models import (
    Association,
    AssociationMessage,
    Membership,
    MembershipState,
    Role,
)
from backend.community.selectors import (
    association_coordinators,
    association_message_recipients,
    user_can_act_for,
    user_is_coordinator,
)
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.names import PersonName
from backend.notifications.services import notify, notify_many
from backend.rides.models import DRIVER_HOLDS, RideRequest
from backend.task_queue import queue_or_leave_to_sweep


class CommunityErrorCode(StrEnum):
    NOT_COORDINATOR = "not_coordinator"
    ALREADY_MEMBER = "already_member"
    WRONG_STATE = "membership_wrong_state"
    REASON_MISSING = "reason_missing"
    UNKNOWN_ROLE = "unknown_role"
    PROXY_SELF = "proxy_self"
    PROXY_EXISTS = "proxy_exists"
    PROXY_NOT_ALLOWED = "proxy_not_allowed"
    PROXY_ALREADY_ACCEPTED = "proxy_already_accepted"
    MANAGED_CANNOT_BE_PROXY = "managed_cannot_be_proxy"
    PROXY_PHONE_MISSING = "proxy_phone_missing"
    NOT_OWN_MEMBERSHIP = "membership_not_own"
    DRIVER_HOLDS_RIDES = "driver_holds_rides"


def _require_coordinator(*, actor: User, association: Association) -> None:
    if not user_is_coordinator(user=actor, association=association):
        raise ApplicationError(
            CommunityErrorCode.NOT_COORDINATOR,
            _("Only a coordinator of %(association)s can do this.")
            % {"association": association.name},
            kind=ErrorKind.FORBIDDEN,
        )


def _clean_roles(roles: list[str]) -> list[str]:
    unknown = set(roles) - set(Role.values)
    if unknown:
        raise ApplicationError(
            CommunityErrorCode.UNKNOWN_ROLE,
            _("Unknown role: %(roles)s. Choose member, driver or coordinator.")
            % {"roles": ", ".join(sorted(unknown))},
            fields={"roles": [_("Unknown role.")]},
        )
    # Every role includes being a member; keep a stable order for display.
    return [role for role in Role.values if role in set(roles) | {Role.MEMBER}]


@transaction.atomic
def membership_request(
    *, user: User, association: Association, roles: list[str] | None = None
) -> Membership:
    """Ask to join. The membership waits for a coordinator's approval, and the
    association's active coordinators are told ("membership.requested"; delivered after
    the commit). Asking again while a membership exists, in whatever state, is a
    conflict that says which: waiting, active, or suspended with its reason (a suspended
    member does not get round the suspension by asking again)."""
    roles = _clean_roles(roles or [Role.MEMBER])
    if Role.COORDINATOR in roles:
        raise ApplicationError(
            CommunityErrorCode.UNKNOWN_ROLE,
            _("A coordinator of the association gives the coordinator role."),
            kind=ErrorKind.FORBIDDEN,
            fields={"roles": [_("Not something you can ask for yourself.")]},
        )
    membership, created = Membership.objects.get_or_create(
        user=user, association=association, defaults={"roles": roles}
    )
    if not created:
        raise _already_asked_to_join(membership, association)
    coordinators = list(
        association_coordinators(association_id=association.pk)
        .filter(is_active=True)
        .exclude(pk=user.pk)
        .order_by("pk")
    )
    notify_many(
        coordinators,
        "membership.requested",
        {
            "association": association.name,
            "association_id": association.pk,
            "person": PersonName.of(user),
            "roles": roles,
            "membership": membership.pk,
        },
    )
    return membership


def _already_asked_to_join(membership: Membership, association: Association) -> ApplicationError:
    names = {"association": association.name, "reason": membership.state_reason}
    if membership.state == MembershipState.ACTIVE:
        message = _("You are already a member of %(association)s.") % names
    elif membership.state == MembershipState.SUSPENDED:
        message = (
            _(
                "Your membership of %(association)s is suspended: %(reason)s. Call the "
                "association if you want to talk about it."
            )
            % names
            if membership.state_reason
            else _(
                "Your membership of %(association)s is suspended. Call the association "
                "if you want to talk about it."
            )
            % names
        )
    else:
        message = _("You have already asked to join %(association)s.") % names
    return ApplicationError(CommunityErrorCode.ALREADY_MEMBER, message, kind=ErrorKind.CONFLICT)


def _pending_membership_locked(membership: Membership) -> Membership | None:
    """The membership's row, locked for the rest of the transaction (None when it is
    gone: withdrawn or declined meanwhile). An approval, a decline and a withdrawal at
    once are taken one after the other, each seeing what the one before did."""
    return (
        Membership.objects.select_for_update(of=("self",))
        .select_related("association", "user")
        .filter(pk=membership.pk)
        .first()
    )


@transaction.atomic
def membership_withdraw(*, actor: User, membership: Membership) -> None:
    """The person takes back their request to join before a coordinator answers: the
    pending membership is deleted, as if never asked, so they may ask again later. Only
    their own request, and only while it waits: an active or suspended membership is
    ended by a coordinator. Locks the membership (`_pending_membership_locked`); a
    request already gone (declined, or a second click) is nothing to do."""
    if membership.user_id != actor.pk:
        raise ApplicationError(
            CommunityErrorCode.NOT_OWN_MEMBERSHIP,
            _("Only the person who asked to join can withdraw the request."),
            kind=ErrorKind.FORBIDDEN,
        )
    locked = _pending_membership_locked(membership)
    if locked is None:
        return
    if locked.state != MembershipState.PENDING:
        raise ApplicationError(
            CommunityErrorCode.WRONG_STATE,
            _(
                "Your request to join %(association)s has already been answered, so there is "
                "nothing to withdraw. Ask the association's coordinators if you want to leave."
            )
            % {"association": locked.association.name},
            kind=ErrorKind.CONFLICT,
        )
    locked.delete()


@transaction.atomic
def membership_decline(*, actor: User, membership: Membership, reason: str = "") -> None:
    """A coordinator says no to someone who asked to join, with a reason they see if
    one is given ("membership.declined"). The pending membership is deleted rather than
    kept in a state of its own: it was never active, so nothing hangs on it (a rider
    approval given early goes with it), and the person may ask again later (one
    membership per person and association, `membership_unique`, would otherwise keep
    them out for good; keeping someone out is what suspension is for). Who said no to
    whom and when is in the audit log (the roster's `membership.decline`). Only a
    request that waits can be declined. Locks the membership
    (`_pending_membership_locked`), so an approval and a decline at once count once."""
    _require_coordinator(actor=actor, association=membership.association)
    locked = _pending_membership_locked(membership)
    if locked is None:
        raise ApplicationError(
            CommunityErrorCode.WRONG_STATE,
            _("This request to join has already been answered or withdrawn."),
            kind=ErrorKind.CONFLICT,
        )
    if locked.state != MembershipState.PENDING:
        raise ApplicationError(
            CommunityErrorCode.WRONG_STATE,
            _(
                "Only a request waiting for approval can be declined. To end a membership, "
                "suspend it instead."
            ),
            kind=ErrorKind.CONFLICT,
        )
    person, association = locked.user, locked.association
    locked.delete()
    if person.is_active:
        notify(
            person,
            "membership.declined",
            {"association": association.name, "reason": reason.strip()},
        )


def _membership_set_state(
    *,
    actor: User,
    membership: Membership,
    from_states: list[str],
    to_state: str,
    reason: str = "",
) -> Membership:
    """Move the membership between states. One conditional UPDATE: if someone else changed
    it meanwhile, nothing is written and the caller hears so."""
    _require_coordinator(actor=actor, association=membership.association)
    now = timezone.now()
    updated = Membership.objects.filter(pk=membership.pk, state__in=from_states).update(
        state=to_state, state_reason=reason, state_changed_by=actor, state_changed_at=now
    )
    if not updated:
        try:
            membership.refresh_from_db()
        except Membership.DoesNotExist:
            # Declined or withdrawn meanwhile (membership_decline, membership_withdraw).
            raise ApplicationError(
                CommunityErrorCode.WRONG_STATE,
                _("This request to join has already been answered or withdrawn."),
                kind=ErrorKind.CONFLICT,
            ) from None
        raise ApplicationError(
            CommunityErrorCode.WRONG_STATE,
            _("This membership is %(state)s and cannot be changed that way.")
            % {"state": membership.get_state_display()},
            kind=ErrorKind.CONFLICT,
        )
    membership.refresh_from_db()
    return membership


@transaction.atomic
def membership_approve(*, actor: User, membership: Membership) -> Membership:
    membership = _membership_set_state(
        actor=actor,
        membership=membership,
        from_states=[MembershipState.PENDING, MembershipState.SUSPENDED],
        to_state=MembershipState.ACTIVE,
    )
    notify(membership.user, "membership.approved", {"association": membership.association.name})
    return membership


@transaction.atomic
def membership_suspend(*, actor: User, membership: Membership, reason: str) -> Membership:
    # Who may act first: a member asking to suspend themself is not a coordinator.
    _require_coordinator(actor=actor, association=membership.association)
    reason = reason.strip()
    if not reason:
        raise ApplicationError(
            CommunityErrorCode.REASON_MISSING,
            _("Write why the membership is suspended; the member will see it."),
            fields={"reason": [_("This field is required.")]},
        )
    if membership.user_id == actor.pk:
        raise ApplicationError(
            CommunityErrorCode.WRONG_STATE,
            _("You cannot suspend yourself. Ask another coordinator."),
            kind=ErrorKind.CONFLICT,
        )
    # A suspended driver cannot open driver mode: the rides they hold would be stranded
    # (see membership_set_roles; the same lock keeps an offer accepted meanwhile out).
    locked = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user")
        .get(pk=membership.pk)
    )
    _require_no_rides_held(locked, suspending=True)
    membership = _membership_set_state(
        actor=actor,
        membership=membership,
        from_states=[MembershipState.PENDING, MembershipState.ACTIVE],
        to_state=MembershipState.SUSPENDED,
        reason=reason,
    )
    notify(
        membership.user,
        "membership.suspended",
        {"association": membership.association.name, "reason": reason},
    )
    return membership


@transaction.atomic
def membership_set_roles(*, actor: User, membership: Membership, roles: list[str]) -> Membership:
    """A coordinator sets the member's roles (being a member is always one of them).

    Giving the driver role to an active member tells them ("membership.driver_role"),
    with the way to driver mode's first setup (their car, and where they drive from).

    The coordinator role is given only to an active member who signs in (not to a
    request to join, a suspended membership or a managed profile; `WRONG_STATE`, 409):
    it shows the members' phone numbers and addresses. Giving or taking it tells the
    person ("membership.coordinator_role", "membership.coordinator_role_taken").

    Taking the driver role from someone who still holds rides (accepted, on the way, or
    with the passenger aboard) is refused (`DRIVER_HOLDS_RIDES`, 409), saying how many:
    driver mode opens only with the role, so those rides would stay with someone who can
    no longer open them to drive, finish or give them back, and nobody else would be
    offered them. The coordinator first gives them to other drivers (the console's ride
    page), or all at once back to dispatch (the roster's "Give rides back",
    `dispatch.services.driver_rides_release_all`; a ride with the passenger on board
    stays until it is completed). Without rides held, the role goes and the driver
    profile stays as it was: the matching and driver mode ask for the role, so the
    profile rests unused, and giving the role back brings back the car, area and week.
    A car on a shop run is not a ride held: the run sheet is the driver's through the
    car, whatever the roles.

    Locks the membership row, so two changes at once are taken one after the other, and
    a driver accepting an offer at the same instant (`dispatch.offers.offer_accept` takes
    the same lock) either comes first, and holds the ride, or is refused."""
    _require_coordinator(actor=actor, association=membership.association)
    roles = _clean_roles(roles)
    if membership.user_id == actor.pk and Role.COORDINATOR not in roles:
        raise ApplicationError(
            CommunityErrorCode.WRONG_STATE,
            _("You cannot remove your own coordinator role. Ask another coordinator."),
            kind=ErrorKind.CONFLICT,
        )
    locked = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("association", "user")
        .get(pk=membership.pk)
    )
    was_driver = Role.DRIVER in locked.roles
    if was_driver and Role.DRIVER not in roles:
        _require_no_rides_held(locked)
    was_coordinator = Role.COORDINATOR in locked.roles
    if not was_coordinator and Role.COORDINATOR in roles:
        _require_can_coordinate(locked)
    membership.roles = roles
    membership.save(update_fields=["roles"])
    told = {"association": locked.association.name, "association_id": locked.association_id}
    can_be_told = locked.user.is_active and not locked.user.is_managed
    if (
        not was_driver
        and Role.DRIVER in roles
        and locked.state == MembershipState.ACTIVE
        and locked.user.is_active
    ):
        notify(locked.user, "membership.driver_role", told)
    if was_coordinator != (Role.COORDINATOR in roles) and can_be_told:
        notify(
            locked.user,
            "membership.coordinator_role"
            if not was_coordinator
            else "membership.coordinator_role_taken",
            told,
        )
    return membership


@transaction.atomic
def membership_role_change(
    *, actor: User, membership: Membership, role: Role, give: bool
) -> Membership:
    """Give the member one role, or take it, keeping their other roles as the locked row
    has them (the roster's buttons): two coordinators changing different roles of one
    member at the same moment both count, where each setting all the roles it read
    would undo the other's. The rules and messages are `membership_set_roles`'s."""
    current = (
        Membership.objects.select_for_update(of=("self",))
        .values_list("roles", flat=True)
        .get(pk=membership.pk)
    )
    others = [each for each in current if each != role]
    return membership_set_roles(
        actor=actor, membership=membership, roles=[*others, role] if give else others
    )


def _require_can_coordinate(membership: Membership) -> None:
    """The coordinator role goes only to an active member who signs in: a coordinator
    sees the members, their phone numbers and addresses, and books and cancels for them,
    which a request to join not yet approved, a suspended membership or a managed profile
    (someone who has no login; `User.is_managed`) must not get."""
    if membership.user.is_managed:
        raise ApplicationError(
            CommunityErrorCode.WRONG_STATE,
            _(
                "%(name)s has no login (a managed profile) and so cannot be a coordinator. "
                "Choose a member who signs in."
            )
            % {"name": membership.user.full_name},
            kind=ErrorKind.CONFLICT,
        )
    if membership.state != MembershipState.ACTIVE:
        # Named as the roster's button for that state is.
        message = (
            _(
                "%(name)s's membership is %(state)s: only an active member can be made a "
                "coordinator. Make the membership active again first."
            )
            if membership.state == MembershipState.SUSPENDED
            else _(
                "%(name)s's membership is %(state)s: only an active member can be made a "
                "coordinator. Approve the membership first."
            )
        )
        raise ApplicationError(
            CommunityErrorCode.WRONG_STATE,
            message % {"name": membership.user.full_name, "state": membership.get_state_display()},
            kind=ErrorKind.CONFLICT,
        )


def _require_no_rides_held(membership: Membership, *, suspending: bool = False) -> None:
    held = RideRequest.objects.filter(driver__membership=membership, state__in=DRIVER_HOLDS).count()
    if not held:
        return
    if suspending:
        message = ngettext(
            "%(name)s holds %(count)s ride: give it to another driver first, then suspend "
            "the membership.",
            "%(name)s holds %(count)s rides: give them to other drivers first, then suspend "
            "the membership.",
            held,
        )
    else:
        message = ngettext(
            "%(name)s holds %(count)s ride: give it to another driver first, then take "
            "the driver role away.",
            "%(name)s holds %(count)s rides: give them to other drivers first, then take "
            "the driver role away.",
            held,
        )
    raise ApplicationError(
        CommunityErrorCode.DRIVER_HOLDS_RIDES,
        message % {"name": membership.user.full_name, "count": held},
        kind=ErrorKind.CONFLICT,
    )


@transaction.atomic
def managed_profile_create(
    *,
    actor: User,
    full_name: str,
    phone: str = "",
    home_address: str = "",
    association: Association | None = None,
    relationship: str = "",
) -> User:
    """Create a resident without a login. A coordinator creates it inside their
    association (an active member at once, as they took the call); anyone else becomes
    the new resident's proxy."""
    if actor.is_managed:
        raise ApplicationError(
            CommunityErrorCode.MANAGED_CANNOT_BE_PROXY,
            _("A managed profile cannot create others."),
            kind=ErrorKind.FORBIDDEN,
        )
    if association is not None:
        _require_coordinator(actor=actor, association=association)
    name = " ".join(full_name.split())
    if not name:
        raise ApplicationError(
            "name_missing",
            _("Write the person's name."),
            fields={"full_name": [_("This field is required.")]},
        )
    resident = User(
        full_name=name,
        phone=clean_phone(phone),
        home_address=home_address.strip(),
        is_managed=True,
    )
    resident.set_unusable_password()
    resident.save()
    if association is not None:
        Membership.objects.create(
            user=resident,
            association=association,
            roles=[Role.MEMBER],
            state=MembershipState.ACTIVE,
            state_changed_by=actor,
            state_changed_at=timezone.now(),
        )
    else:
        # The relative makes the profile to help: that is their consent.
        resident.proxy_links.create(
            proxy=actor, relationship=relationship, created_by=actor, accepted_at=timezone.now()
        )
    return resident


def _require_may_choose_proxy(*, actor: User, resident: User) -> None:
    """A resident who logs in chooses their own proxies; for a managed profile, someone
    who already acts for them (coordinator or proxy) does."""
    allowed = (
        actor.pk == resident.pk
        if not resident.is_managed
        else user_can_act_for(actor=actor, resident=resident)
    )
    if not allowed:
        raise ApplicationError(
            CommunityErrorCode.PROXY_NOT_ALLOWED,
            _("Only the person themself can choose who acts for them."),
            kind=ErrorKind.FORBIDDEN,
        )


def _already_asked() -> ApplicationError:
    # Not the proxy's name, nor whether the number has an account: the person asked has
    # not said yes to being known as the helper.
    return ApplicationError(
        CommunityErrorCode.PROXY_EXISTS,
        _("This person has already been asked and has not answered yet."),
        kind=ErrorKind.CONFLICT,
    )


@transaction.atomic
def proxy_link_request(
    *, actor: User, resident: User, proxy_phone: str, relationship: str = ""
) -> None:
    """Ask whoever has the phone number `proxy_phone` to act for `resident`. The outcome
    is the same whether or not anyone uses Samby with that number, so the asker learns
    nothing about it: a login with the number gets a pending link (`proxy_link_create`);
    for any other number the request is kept under the number (`ProxyInvitation`), which
    gets one SMS saying who asks and how to join, and becomes a pending link when someone
    confirms the number as theirs (`user_phone_confirmed`). Asking the same number again while the
    first request waits is a conflict, in the same words either way. Locks the number
    (`phone_number_lock`) against a registration with it at the same moment."""
    typed = proxy_phone.strip()
    if not typed:
        raise ApplicationError(
            CommunityErrorCode.PROXY_PHONE_MISSING,
            _("Write the phone number of the person you ask."),
            fields={"proxy_phone": [_("This field is required.")]},
        )
    phone = clean_phone(typed, field="proxy_phone")
    # Who may ask is decided before anything is looked up about the number.
    _require_may_choose_proxy(actor=actor, resident=resident)
    phone_number_lock(phone)
    # Only a login that confirmed the number (user_find_login): one that merely typed it
    # may not be its owner, so the request waits under the number, as for a number
    # without an account, until a code sent to it comes back (user_phone_confirmed).
    proxy = user_find_login(identifier=phone)
    if proxy is not None:
        proxy_link_create(
            actor=actor,
            resident=resident,
            proxy=proxy,
            relationship=relationship,
            invited_as=typed,
        )
        return
    ProxyInvitation.objects.filter(
        resident=resident, phone=phone, created_at__lt=invitations_expire_before()
    ).delete()
    invitation, created = ProxyInvitation.objects.get_or_create(
        resident=resident,
        phone=phone,
        defaults={"invited_as": typed, "relationship": relationship, "created_by": actor},
    )
    if not created:
        raise _already_asked()
    transaction.on_commit(lambda: _queue_invitation_sms(invitation.pk))


def _queue_invitation_sms(invitation_id: int) -> None:
    from backend.accounts.tasks import send_proxy_invitation_sms

    # Sweep: send_waiting_proxy_invitation_sms.
    queue_or_leave_to_sweep(
        send_proxy_invitation_sms, invitation_id, what=f"SMS of invitation {invitation_id}"
    )


@transaction.atomic
def proxy_link_create(
    *, actor: User, resident: User, proxy: User, relationship: str = "", invited_as: str = ""
) -> ProxyLink:
    """Ask `proxy` to act for `resident`. A resident who logs in asks themself; for a
    managed profile, someone who already acts for them (coordinator or proxy) asks. The
    link is pending, and gives nothing, until the proxy accepts (`proxy_link_accept`);
    `invited_as` is the number as typed, what the asker sees of it until then."""
    if proxy.pk == resident.pk:
        raise ApplicationError(
            CommunityErrorCode.PROXY_SELF, _("A person cannot be their own proxy.")
        )
    if proxy.is_managed:
        raise ApplicationError(
            CommunityErrorCode.MANAGED_CANNOT_BE_PROXY,
            _("A proxy must be someone who can log in."),
        )
    _require_may_choose_proxy(actor=actor, resident=resident)
    link, created = resident.proxy_links.get_or_create(
        proxy=proxy,
        defaults={"relationship": relationship, "created_by": actor, "invited_as": invited_as},
    )
    if not created and not link.is_accepted:
        raise _already_asked()
    if not created:
        raise ApplicationError(
            CommunityErrorCode.PROXY_EXISTS,
            _("%(proxy)s already acts for %(resident)s.")
            % {"proxy": proxy.full_name, "resident": resident.full_name},
            kind=ErrorKind.CONFLICT,
        )
    notify(
        proxy,
        "proxy.invited",
        {"resident": PersonName.of(resident), "resident_id": resident.pk, "proxy_id": proxy.pk},
    )
    return link


@transaction.atomic
def proxy_link_accept(*, actor: User, link: ProxyLink) -> ProxyLink:
    """The proxy says yes: from now on they act for the resident. Only the proxy can;
    whoever asked (the resident, or for a managed profile the one who asked) is told,
    and may now see the proxy's name."""
    link = (
        ProxyLink.objects.select_for_update(of=("self",))
        .select_related("proxy", "resident")
        .get(pk=link.pk)
    )
    if actor.pk != link.proxy_id:
        raise ApplicationError(
            CommunityErrorCode.PROXY_NOT_ALLOWED,
            _("Only the person who was asked can say yes."),
            kind=ErrorKind.FORBIDDEN,
        )
    if link.is_accepted:
        raise ApplicationError(
            CommunityErrorCode.PROXY_ALREADY_ACCEPTED,
            _("You already help %(resident)s.") % {"resident": link.resident.full_name},
            kind=ErrorKind.CONFLICT,
        )
    link.accepted_at = timezone.now()
    link.save(update_fields=["accepted_at"])
    resident = link.resident
    # A managed profile has no inbox of its own that anyone reads: tell who asked.
    told = resident if not resident.is_managed else link.created_by
    if told is not None and told.pk != link.proxy_id and told.is_active:
        notify(
            told,
            "proxy.accepted",
            {"proxy": PersonName.of(link.proxy), "resident": PersonName.of(resident)},
        )
    return link


@transaction.atomic
def proxy_link_decline(*, actor: User, link: ProxyLink) -> None:
    """The proxy says no to a request: it is gone, and whoever asked (the resident, or
    for a managed profile the one who asked) is told, by the number they typed: the
    proxy's name is theirs to give by saying yes. A link already accepted is not ended
    this way (a second click on an old page); ending one is `proxy_link_remove`. Locks
    the link, so a yes and a no at once count once."""
    if actor.pk != link.proxy_id:
        raise ApplicationError(
            CommunityErrorCode.PROXY_NOT_ALLOWED,
            _("Only the person who was asked can say no."),
            kind=ErrorKind.FORBIDDEN,
        )
    locked = (
        ProxyLink.objects.select_for_update(of=("self",))
        .select_related("proxy", "resident", "created_by")
        .filter(pk=link.pk)
        .first()
    )
    if locked is None:
        return  # said no already (a second click): nothing more to do, nobody told twice
    link = locked
    if link.is_accepted:
        raise ApplicationError(
            CommunityErrorCode.PROXY_ALREADY_ACCEPTED,
            _("You already help %(resident)s.") % {"resident": link.resident.full_name},
            kind=ErrorKind.CONFLICT,
        )
    resident = link.resident
    ProxyLink.objects.filter(pk=link.pk).delete()
    told = resident if not resident.is_managed else link.created_by
    if told is not None and told.pk != link.proxy_id and told.is_active:
        notify(
            told,
            "proxy.declined",
            {
                # The number stands for the proxy's name here: theirs, if they are erased.
                "invited_as": PersonName(
                    link.invited_as or link.proxy.phone or "\N{EN DASH}", person_id=link.proxy_id
                ),
                "resident": PersonName.of(resident),
            },
        )


def proxy_link_remove(*, actor: User, resident: User, proxy: User) -> bool:
    """The resident, the proxy, or (for a managed profile) a coordinator may end a link.
    The proxy ending a request they have not accepted declines it (`proxy_link_decline`:
    whoever asked is told). Returns whether it was such a decline."""
    allowed = actor.pk in (resident.pk, proxy.pk) or (
        resident.is_managed and user_can_act_for(actor=actor, resident=resident)
    )
    if not allowed:
        raise ApplicationError(
            CommunityErrorCode.PROXY_NOT_ALLOWED,
            _("You cannot change who acts for this person."),
            kind=ErrorKind.FORBIDDEN,
        )
    link = resident.proxy_links.filter(proxy=proxy).first()
    if link is not None and not link.is_accepted and actor.pk == proxy.pk:
        proxy_link_decline(actor=actor, link=link)
        return True
    resident.proxy_links.filter(proxy=proxy).delete()
    return False


@transaction.atomic
def association_message_send(
    *, actor: User, association: Association, text: str, urgent: bool = False
) -> AssociationMessage:
    """A coordinator's message to every active member ("Handlarskjutsen är inställd i
    dag på grund av snön"). Stores it with the number of people it goes to and, once
    committed, queues its delivery (`association_message_deliver`): however many members
    the association has, the request writes one row. A rolled-back request queues nothing."""
    _require_coordinator(actor=actor, association=association)
    text = text.strip()
    if not text:
        raise ApplicationError(
            "message_empty",
            _("Write the message to send."),
            fields={"text": [_("This field is required.")]},
        )
    message = AssociationMessage(
        association=association, sender=actor, text=text, urgent=urgent, sent_at=timezone.now()
    )
    message.recipients = association_message_recipients(message=message).count()
    message.save()
    transaction.on_commit(lambda: _queue_message_delivery(message.pk))
    return message


def _queue_message_delivery(message_id: int) -> None:
    from backend.community.tasks import deliver_association_message

    # Sweep: deliver_waiting_association_messages.
    queue_or_leave_to_sweep(
        deliver_association_message, message_id, what=f"association message {message_id}"
    )


def association_message_deliver(*, message_id: int) -> int | None:
    """Notify the message's recipients (`association_message_recipients`) on their
    chosen channels. Locks the message row and marks it delivered in the transaction
    that stores the notifications, so a task run twice, or beside the sweep, notifies
    once: a second run waits for the first and finds it delivered. Returns how many it
    reached, None when it was already delivered (or no longer exists).

    Messages of one association reach each member in the order they were sent, in the
    inbox and live: one delivery per association at a time (an advisory lock held until
    the live messages are published, after the commit), and earlier messages still
    waiting (their task not run yet, or not queued) go first, in the same transaction.
    Only SMS, e-mail and push may still arrive out of order: their tasks run in
    parallel, and their networks do not keep order either."""
    this = AssociationMessage.objects.filter(pk=message_id, delivered_at__isnull=True).first()
    if this is None:
        return None
    now = timezone.now()
    with _association_messages_lock(this.association_id):
        reached = None
        with transaction.atomic():
            waiting = (
                AssociationMessage.objects.select_for_update(of=("self",))
                .select_related("association")
                .filter(association_id=this.association_id, delivered_at__isnull=True)
                .filter(
                    Q(pk=this.pk)
                    # Not those the sweep gave up on: news of the day would mislead later.
                    | Q(sent_at__gte=now - MESSAGE_SWEEP_WITHIN)
                    & (Q(sent_at__lt=this.sent_at) | Q(sent_at=this.sent_at, pk__lt=this.pk))
                )
                .order_by("sent_at", "pk")
            )
            for message in waiting:
                count = _association_message_notify(message)
                if message.pk == this.pk:
                    reached = count
        # The live messages were published as the transaction committed, still under the
        # lock: the next message of the association goes out after them.
    return reached


def _association_message_notify(message: AssociationMessage) -> int:
    recipients = list(association_message_recipients(message=message))
    notify_many(
        recipients,
        "association.message",
        # "message": how the console finds what became of it (association_message_reach).
        {"association": message.association.name, "text": message.text, "message": message.pk},
        urgent=message.urgent,
    )
    AssociationMessage.objects.filter(pk=message.pk).update(
        delivered_at=timezone.now(), delivered_to=len(recipients)
    )
    return len(recipients)


@contextmanager
def _association_messages_lock(association_id: int) -> Iterator[None]:
    """One delivery of an association's messages at a time, until its live messages are
    out: a session lock, since a transaction's lock would end at the commit, before they
    are published. A worker that dies loses its connection, and the lock with it."""
    key = f"association-messages:{association_id}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])


# Older than this and still not delivered (the broker was down, the task failed): sent by
# the sweep. Younger ones are most likely still in the queue.
MESSAGE_SWEEP_AFTER = timedelta(minutes=2)
# A message about today ("the shop run is cancelled") would mislead a day later: the
# sweep leaves older ones undelivered rather than send them that late (a task that
# failed was logged as a dead letter).
MESSAGE_SWEEP_WITHIN = timedelta(hours=12)


def association_message_given_up(message: AssociationMessage, *, now: datetime) -> bool:
    """Whether a message will not be delivered any more: still undelivered and older
    than MESSAGE_SWEEP_WITHIN, so the sweep leaves it (its coordinator is told)."""
    return message.delivered_at is None and message.sent_at < now - MESSAGE_SWEEP_WITHIN


def association_messages_deliver_waiting(*, now: datetime | None = None) -> int:
    """Queue again the messages still not delivered MESSAGE_SWEEP_AFTER after they were
    sent, up to MESSAGE_SWEEP_WITHIN old. Safe beside the task queued on commit:
    `association_message_deliver` delivers once. Returns how many were queued."""
    now = now or timezone.now()
    waiting = AssociationMessage.objects.filter(delivered_at__isnull=True)
    ids = list(
        waiting.filter(
            sent_at__lt=now - MESSAGE_SWEEP_AFTER, sent_at__gte=now - MESSAGE_SWEEP_WITHIN
        )
        .order_by("sent_at")
        .values_list("pk", flat=True)[:100]
    )
    for message_id in ids:
        _queue_message_delivery(message_id)
    return len(ids)
