"""Who may see and do what across associations. Every permission question has one answer here."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.fields.json import KT, KeyTextTransform
from django.db.models.functions import Coalesce

from backend.accounts.models import ProxyInvitation, ProxyLink, User
from backend.accounts.proxy_invitations import invitations_expire_before
from backend.community.models import (
    Association,
    AssociationMessage,
    Membership,
    MembershipState,
    Municipality,
    Role,
    Village,
)
from backend.db import fetch_dicts
from backend.notifications.models import Channel, Delivery, DeliveryStatus, Notification


def coordinated_association_ids(*, user: User) -> QuerySet[Membership, int]:
    """Ids of the associations where `user` is an active coordinator."""
    return Membership.objects.filter(
        user=user, state=MembershipState.ACTIVE, roles__contains=[Role.COORDINATOR]
    ).values_list("association_id", flat=True)


def association_coordinators(*, association_id: int) -> QuerySet[User]:
    """The people who run the association now (active coordinators): who is told when
    something needs a coordinator."""
    return User.objects.filter(
        memberships__association_id=association_id,
        memberships__state=MembershipState.ACTIVE,
        memberships__roles__contains=[Role.COORDINATOR],
    )


def user_is_coordinator(*, user: User, association: Association) -> bool:
    return user_coordinates(user=user, association_id=association.pk)


def user_coordinates(*, user: User, association_id: int) -> bool:
    """The association is among `coordinated_association_ids(user)`. Asked before nearly
    everything a coordinator reads or does, so written as SQL (backend/db.py)."""
    if not user.is_authenticated:
        return False
    [row] = fetch_dicts(
        """
        SELECT EXISTS (SELECT 1 FROM community_membership
                        WHERE user_id = %s AND association_id = %s
                          AND state = %s AND roles @> %s) AS coordinates
        """,
        [user.pk, association_id, MembershipState.ACTIVE, [Role.COORDINATOR.value]],
    )
    return row["coordinates"]


def user_is_active_member(*, user: User, association: Association) -> bool:
    return Membership.objects.filter(
        user=user, association=association, state=MembershipState.ACTIVE
    ).exists()


def association_message_recipients(*, message: AssociationMessage) -> QuerySet[User]:
    """Who a message to every member goes to: the people whose membership was active
    when it was sent and still is (its last change of state, or its creation when it
    never changed, is not after `sent_at`), with an account in use, but the sender.
    The same answer when counted in the request and when the task delivers it, whenever
    that is: a member who joins or is approved after the message does not get it; one
    suspended or erased in between does not either. Ordered by id."""
    members = (
        Membership.objects.annotate(active_since=Coalesce("state_changed_at", "created_at"))
        .filter(
            association_id=message.association_id,
            state=MembershipState.ACTIVE,
            active_since__lte=message.sent_at,
        )
        .values("user_id")
    )
    people = User.objects.filter(pk__in=members, is_active=True)
    if message.sender_id is not None:
        people = people.exclude(pk=message.sender_id)
    return people.order_by("pk")


def association_messages_for(
    *, viewer: User, association: Association
) -> QuerySet[AssociationMessage]:
    """The association's messages to all members, newest first: for its coordinators
    (who write them), nothing for anyone else (the members have theirs in their inbox)."""
    if not user_is_coordinator(user=viewer, association=association):
        return AssociationMessage.objects.none()
    return association.messages.order_by("-sent_at", "-pk")


@dataclass(frozen=True)
class MessageReach:
    """What became of one message to all members, once delivered: how many read it in
    the app, its SMS, e-mails and push notifications by how they ended (sent, failed,
    waiting, not sent: quiet hours over, an unconfirmed number...), and who a message
    could not be sent to, so that the coordinator can call them."""

    read: int
    by_channel: dict[str, dict[str, int]]
    failed: list[tuple[str, str]]  # (member's name, channel), by name


def association_message_reach(*, message_ids: list[int]) -> dict[int, MessageReach]:
    """The reach of each of these messages that has notifications (two queries, whatever
    their number; ask only for delivered ones). The in-app channel is left out of
    `by_channel`: a live message counts as sent whether or not the app was open, so
    `read` tells instead."""
    keys = [str(pk) for pk in message_ids]
    if not keys:
        return {}
    notifications = Notification.objects.filter(kind="association.message").annotate(
        message=KT("payload__message")
    )
    reads = (
        notifications.filter(message__in=keys)
        .values("message")
        .annotate(read=Count("pk", filter=Q(read_at__isnull=False)))
        .values_list("message", "read")
    )
    reach = {int(key): MessageReach(read=read, by_channel={}, failed=[]) for key, read in reads}
    deliveries = (
        Delivery.objects.filter(notification__kind="association.message")
        .exclude(channel=Channel.LIVE)
        # Push is chosen by default and skipped only for want of an app to push to: most
        # members, and nothing for the coordinator to act on.
        .exclude(channel=Channel.PUSH, status=DeliveryStatus.SKIPPED)
        .annotate(message=KeyTextTransform("message", "notification__payload"))
        .filter(message__in=keys)
    )
    for key, channel, status, count, failed in (
        deliveries.values("message", "channel", "status")
        .annotate(
            count=Count("pk"),
            failed=ArrayAgg(
                "notification__recipient__full_name",
                filter=Q(status=DeliveryStatus.FAILED),
                order_by="notification__recipient__full_name",
                default=[],
            ),
        )
        .values_list("message", "channel", "status", "count", "failed")
    ):
        reach[int(key)].by_channel.setdefault(channel, {})[status] = count
        reach[int(key)].failed.extend((name, channel) for name in failed)
    for item in reach.values():
        item.failed.sort()
    return reach


def people_actable_by(*, actor: User) -> QuerySet[User]:
    """Everyone `actor` may book for: themself, those they are proxy for (an accepted
    link: a request not yet answered gives nothing), and the members (pending or active)
    of the associations they coordinate. A coordinator acts for those members only in
    things of the associations they coordinate (`user_can_act_for_in`); this is whom a
    booking form may offer, not what the person may do for them everywhere."""
    if not actor.is_authenticated or actor.is_managed:
        return User.objects.none()
    # Each way of acting for someone is its own subquery, not a join: OR-ed joins made
    # PostgreSQL read every membership of the actor's associations and sort them for
    # DISTINCT, in every statement that filters by these people.
    coordinated = Membership.objects.filter(
        association_id__in=coordinated_association_ids(user=actor),
        state__in=[MembershipState.PENDING, MembershipState.ACTIVE],
    )
    return User.objects.filter(
        Q(pk=actor.pk)
        | Q(pk__in=_proxied_by(actor).values("resident_id"))
        | Q(pk__in=coordinated.values("user_id")),
        is_active=True,
    )


def _proxied_by(actor: User) -> QuerySet[ProxyLink]:
    return ProxyLink.objects.filter(proxy=actor, accepted_at__isnull=False)


def people_actable_everywhere_by(*, actor: User) -> QuerySet[User]:
    """Of `people_actable_by`, those `actor` acts for in every association: themself and
    those they are accepted proxy for. The other members of an association they
    coordinate are theirs to act for only in that association's things, which
    coordinators reach through the association instead (rides, runs, bookings of it)."""
    if not actor.is_authenticated or actor.is_managed:
        return User.objects.none()
    return User.objects.filter(
        Q(pk=actor.pk) | Q(pk__in=_proxied_by(actor).values("resident_id")), is_active=True
    )


def people_actable_in(*, actor: User, association_id: int) -> QuerySet[User]:
    """Whom `actor` may act for in the association's things (`user_can_act_for_in`):
    themself, those they are proxy for, and, when they coordinate it, its pending and
    active members. Whom a form for one association's run or thing offers."""
    if not actor.is_authenticated or actor.is_managed:
        return User.objects.none()
    members = Membership.objects.filter(
        association_id=association_id,
        association_id__in=coordinated_association_ids(user=actor),
        state__in=[MembershipState.PENDING, MembershipState.ACTIVE],
    )
    return User.objects.filter(
        Q(pk=actor.pk)
        | Q(pk__in=_proxied_by(actor).values("resident_id"))
        | Q(pk__in=members.values("user_id")),
        is_active=True,
    )


def people_actable_q(*, actor: User, person: str, association: str) -> Q:
    """Things of the people `actor` acts for, as an ORM condition of subqueries (no query
    of its own): those of themself and whom they are proxy for, and those of the other
    members of an association they coordinate that belong to such an association.
    `person` and `association` name the thing's fields. The same rule as
    `PeopleActable`, for querysets."""
    if not actor.is_authenticated or actor.is_managed:
        return Q(pk__in=[])
    coordinated = coordinated_association_ids(user=actor)
    members = User.objects.filter(
        pk__in=Membership.objects.filter(
            association_id__in=coordinated,
            state__in=[MembershipState.PENDING, MembershipState.ACTIVE],
        ).values("user_id"),
        is_active=True,
    )
    return Q(**{f"{person}__in": people_actable_everywhere_by(actor=actor).values("pk")}) | Q(
        **{f"{person}__in": members.values("pk"), f"{association}__in": coordinated}
    )


# `people_actable_by`'s rule in SQL: one index lookup per way of acting for someone,
# where the OR-ed joins made PostgreSQL read every membership of the actor's associations
# and sort them for DISTINCT. Each row says where the person is the actor's to act for:
# everywhere (themself, a resident they are proxy for: no association) or in one
# association they coordinate. tests/backend/community/test_acting_for_others.py checks
# that the selectors built on it give the same people as `people_actable_by`.
_PEOPLE_ACTABLE_WHERE = """
    SELECT u.id, NULL::bigint AS association_id
      FROM accounts_user AS u WHERE u.id = %(actor)s AND u.is_active
    UNION
    SELECT u.id, NULL
      FROM accounts_proxylink AS link
      JOIN accounts_user AS u ON u.id = link.resident_id
     WHERE link.proxy_id = %(actor)s AND link.accepted_at IS NOT NULL AND u.is_active
    UNION
    SELECT u.id, coordinating.association_id
      FROM community_membership AS coordinating
      JOIN community_membership AS m ON m.association_id = coordinating.association_id
      JOIN accounts_user AS u ON u.id = m.user_id
     WHERE coordinating.user_id = %(actor)s
       AND coordinating.state = %(active)s
       AND coordinating.roles @> %(coordinator)s
       AND m.state = ANY(%(member_states)s)
       AND u.is_active
"""

_PEOPLE_NAMES = f"""
    SELECT u.id, u.full_name FROM accounts_user AS u
     WHERE u.id IN (SELECT actable.id FROM ({_PEOPLE_ACTABLE_WHERE}) AS actable)
       AND (NOT %(active_members_only)s OR EXISTS (
             SELECT 1 FROM community_membership AS active
              WHERE active.user_id = u.id AND active.state = %(active)s))
     ORDER BY u.full_name, u.id
"""  # noqa: S608 - composed of our own constants; values are parameters


def _people_params(actor: User) -> dict:
    return {
        "actor": actor.pk,
        "active": MembershipState.ACTIVE,
        "coordinator": [Role.COORDINATOR.value],
        "member_states": [MembershipState.PENDING.value, MembershipState.ACTIVE.value],
    }


@dataclass(frozen=True)
class PeopleActable:
    """The people someone acts for, as the lists of "mine and the people I book for"
    read them (a start page, my rides): `ids` is everyone of `people_actable_by`;
    `everywhere` those whose things in every association are the actor's to follow
    (themself, those they are proxy for); `associations` the associations they
    coordinate, the only ones in which the things of the others in `ids` are theirs.
    A thing of person p in association a is in the list when p is in `ids` and p is in
    `everywhere` or a in `associations`."""

    ids: list[int]
    everywhere: list[int]
    associations: list[int]

    def q(self, *, person: str, association: str) -> Q:
        """The rule as an ORM filter, `person` and `association` naming the fields."""
        return Q(**{f"{person}__in": self.ids}) & (
            Q(**{f"{person}__in": self.everywhere}) | Q(**{f"{association}__in": self.associations})
        )

    def sql(self) -> dict:
        """Parameters for the rule in SQL: `<person> = ANY(%(people)s) AND (<person> =
        ANY(%(everywhere)s) OR <association> = ANY(%(associations)s))`."""
        return {
            "people": self.ids,
            "everywhere": self.everywhere,
            "associations": self.associations,
        }


def people_actable_scope(*, actor: User) -> PeopleActable:
    """`people_actable_by` with where each is the actor's to act for (`PeopleActable`),
    for pages and lists that read several things of these people (each filtered by
    `<person>_id = ANY(ids)` instead of repeating the OR-ed joins of `people_actable_by`
    in every statement). Asked on every start page and ride list, so written as SQL
    (backend/db.py, `_PEOPLE_ACTABLE_WHERE`): one statement."""
    if not actor.is_authenticated or actor.is_managed:
        return PeopleActable(ids=[], everywhere=[], associations=[])
    ids: dict[int, None] = {}  # in order, once each
    everywhere: list[int] = []
    associations: set[int] = set()
    for row in fetch_dicts(_PEOPLE_ACTABLE_WHERE, _people_params(actor)):
        ids[row["id"]] = None
        if row["association_id"] is None:
            everywhere.append(row["id"])
        else:
            associations.add(row["association_id"])
    return PeopleActable(
        ids=list(ids), everywhere=sorted(everywhere), associations=sorted(associations)
    )


def people_names_actable_by(
    *, actor: User, active_members_only: bool = False
) -> list[tuple[int, str]]:
    """(id, full name) of `people_actable_by`, by name: whom a booking form offers to book
    for. `active_members_only`: only those who are an active member of some association
    (carpooling is for them). SQL, as it runs on the carpool and sharing pages."""
    if not actor.is_authenticated or actor.is_managed:
        return []
    params = _people_params(actor) | {"active_members_only": active_members_only}
    return [(row["id"], row["full_name"]) for row in fetch_dicts(_PEOPLE_NAMES, params)]


def user_can_act_for(*, actor: User, resident: User) -> bool:
    """`resident` is among `people_actable_by(actor)`. For what concerns the person, not
    an association's things (who helps a managed profile); for a ride, a run, a booking
    use `user_can_act_for_in` with its association."""
    if actor.pk == resident.pk:
        # Oneself: people_actable_by's answer, without its query (asked on every booking,
        # mostly by people booking for themselves). A managed profile never signs in, so
        # this is only ever asked for one by a service acting on the person's own behalf
        # (their erasure cancels what they booked).
        return actor.is_active
    return people_actable_by(actor=actor).filter(pk=resident.pk).exists()


def user_can_act_for_in(*, actor: User, resident: User, association_id: int) -> bool:
    """`actor` may act for `resident` in a thing of this association (a ride booked with
    it, its shop run, its shared thing, a trip of its driver): the resident themself and
    their accepted proxies in every association; a coordinator only in an association
    they coordinate, for its pending and active members. A coordinator of another
    association the resident is also a member of may not: their power is over their own
    association's things. One statement (backend/db.py), none for oneself."""
    if actor.pk == resident.pk:
        return actor.is_active  # as user_can_act_for
    if not actor.is_authenticated or actor.is_managed:
        return False
    [row] = fetch_dicts(
        """
        SELECT EXISTS (
            SELECT 1 FROM accounts_user AS u
             WHERE u.id = %(resident)s AND u.is_active
               AND (EXISTS (SELECT 1 FROM accounts_proxylink AS link
                             WHERE link.proxy_id = %(actor)s AND link.resident_id = u.id
                               AND link.accepted_at IS NOT NULL)
                    OR EXISTS (SELECT 1 FROM community_membership AS coordinating
                                 JOIN community_membership AS m
                                   ON m.association_id = coordinating.association_id
                                WHERE coordinating.user_id = %(actor)s
                                  AND coordinating.association_id = %(association)s
                                  AND coordinating.state = %(active)s
                                  AND coordinating.roles @> %(coordinator)s
                                  AND m.user_id = u.id
                                  AND m.state = ANY(%(member_states)s)))
        ) AS may
        """,
        _people_params(actor) | {"resident": resident.pk, "association": association_id},
    )
    return row["may"]


def proxy_requests_to(*, proxy: User) -> QuerySet[ProxyLink]:
    """Requests `proxy` has not answered yet: who asks them to help, and who asked."""
    return (
        ProxyLink.objects.filter(proxy=proxy, accepted_at__isnull=True)
        .select_related("resident", "created_by")
        .order_by("created_at", "pk")
    )


def proxy_links_of(*, resident: User) -> QuerySet[ProxyLink]:
    """Who helps `resident`, and whom they have asked. Shown to the resident: a pending
    link's proxy is named only once they accept (`invited_as` until then)."""
    return (
        ProxyLink.objects.filter(resident=resident)
        .select_related("proxy")
        .order_by("accepted_at", "created_at", "pk")
    )


@dataclass(frozen=True)
class UnansweredRequest:
    """A request to help, as the one asked for sees it before the answer."""

    invited_as: str
    relationship: str
    asked_at: datetime


def proxy_requests_unanswered_of(*, resident: User) -> list[UnansweredRequest]:
    """Requests to help `resident` that wait for an answer, oldest first, by the number
    as typed. A pending link to someone who uses Samby and an invitation to a number
    nobody uses it with look the same: which one it is is not the asker's to know."""
    rows = [
        UnansweredRequest(link.invited_as, link.relationship, link.created_at)
        for link in ProxyLink.objects.filter(resident=resident, accepted_at__isnull=True).only(
            "invited_as", "relationship", "created_at"
        )
    ]
    rows += [
        UnansweredRequest(invitation.invited_as, invitation.relationship, invitation.created_at)
        for invitation in ProxyInvitation.objects.filter(
            resident=resident, created_at__gte=invitations_expire_before()
        ).only("invited_as", "relationship", "created_at")
    ]
    return sorted(rows, key=lambda row: row.asked_at)


def village_rows(*, offset: int, limit: int) -> list[dict]:
    """A page of all villages by name (id, name, municipality_id and the location as
    x, y): what the apps' list of villages shows, written as SQL (backend/db.py) since the
    apps ask for it often and it changes rarely."""
    return fetch_dicts(
        """
        SELECT id, name, municipality_id,
               ST_X(location::geometry) AS x, ST_Y(location::geometry) AS y
          FROM community_village ORDER BY name, id OFFSET %s LIMIT %s
        """,
        [offset, limit],
    )


def village_count() -> int:
    return Village.objects.count()


def associations_visible_to(*, user: User) -> QuerySet[Association]:
    """Associations a person can see and ask to join: all of them. An association's name,
    villages and public contact are not personal data, and a newcomer must be able to
    find theirs; who belongs to it is scoped by `association_memberships_for`."""
    return Association.objects.all()


def associations_to_join(*, user: User, search: str = "") -> QuerySet[Association]:
    """`associations_visible_to(user)` as the page for joining lists them, with their
    municipality and villages: those the person is in or asked to join first (`mine`),
    then those of the municipality that holds their home (`near_home`, from
    `home_location`), the one with the nearest village first, then the rest by name.
    `search` narrows them to those whose name, municipality or one of whose villages
    holds the letters typed."""
    associations = associations_visible_to(user=user)
    search = search.strip()
    if search:
        associations = associations.filter(
            Q(name__icontains=search)
            | Q(municipality__name__icontains=search)
            | Q(pk__in=Village.objects.filter(name__icontains=search).values("associations"))
        )
    associations = associations.annotate(
        mine=Exists(Membership.objects.filter(user_id=user.pk, association=OuterRef("pk")))
    )
    home = user.home_location
    if home is None:
        associations = associations.annotate(near_home=Value(False))
        order = [F("mine").desc()]
    else:
        associations = associations.annotate(
            near_home=Exists(
                Municipality.objects.filter(pk=OuterRef("municipality_id"), boundary__contains=home)
            ),
            home_m=Subquery(
                Village.objects.filter(associations=OuterRef("pk"))
                .annotate(m=Distance("location", home))
                .order_by("m")
                .values("m")[:1]
            ),
        )
        order = [F("mine").desc(), F("near_home").desc(), F("home_m").asc(nulls_last=True)]
    return (
        associations.select_related("municipality")
        .prefetch_related(Prefetch("villages", queryset=Village.objects.order_by("name")))
        .order_by(*order, "name", "pk")
    )


def memberships_of(*, user: User) -> QuerySet[Membership]:
    """The person's own memberships, in every state, with their association, by name."""
    return (
        Membership.objects.filter(user=user)
        .select_related("association")
        .order_by("association__name", "pk")
    )


def membership_states_of(*, user: User) -> set[str]:
    """The states of the person's memberships (one small query): whether they are an
    active member anywhere, or wait for an answer."""
    return set(Membership.objects.filter(user=user).values_list("state", flat=True))


def association_memberships_for(*, viewer: User, association: Association) -> QuerySet[Membership]:
    """The roster as `viewer` may see it. A coordinator sees every membership; an active
    member sees only the coordinators (whom to call); anyone else sees nothing."""
    memberships = Membership.objects.filter(association=association).select_related("user")
    if user_is_coordinator(user=viewer, association=association):
        return memberships
    if user_is_active_member(user=viewer, association=association):
        return memberships.filter(state=MembershipState.ACTIVE, roles__contains=[Role.COORDINATOR])
    return memberships.none()


def municipality_covering(*, point: Point) -> Municipality | None:
    return Municipality.objects.filter(boundary__contains=point).first()


def municipality_distance_m(*, municipality: Municipality, point: Point) -> float:
    """Metres from `point` to the municipality's boundary along the earth (0 inside):
    how far off a place is, for a message that says so."""
    rows = fetch_dicts(
        "SELECT ST_Distance(boundary::geography, ST_GeomFromEWKB(%s)::geography) AS m"
        " FROM community_municipality WHERE id = %s",
        [bytes(point.ewkb), municipality.pk],
    )
    return float(rows[0]["m"])


def memberships_visible_to(*, viewer: User) -> QuerySet[Membership]:
    """Memberships `viewer` may look up by id: their own, all in associations they
    coordinate, and the coordinators of associations where they are active members."""
    active_in = Membership.objects.filter(user=viewer, state=MembershipState.ACTIVE).values_list(
        "association_id", flat=True
    )
    return Membership.objects.filter(
        Q(user=viewer)
        | Q(association_id__in=coordinated_association_ids(user=viewer))
        | Q(
            association_id__in=active_in,
            state=MembershipState.ACTIVE,
            roles__contains=[Role.COORDINATOR],
        )
    ).select_related("user", "association")


def people_search(*, people: QuerySet[User], query: str) -> QuerySet[User]:
    """Narrow `people` by a few letters of the name or digits of the phone number, as a
    coordinator types while someone is on the line."""
    digits = "".join(ch for ch in query if ch.isdigit())
    condition = Q(full_name__icontains=query)
    if len(digits) >= 3:
        # 070-123 45 67 is stored as +4670123...; match on the digits after the leading 0.
        condition |= Q(phone__contains=digits.lstrip("0"))
    return people.filter(condition)
