from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import ProxyLink, User
from backend.audit.services import audit_record
from backend.community import selectors, services
from backend.community.models import Association, Membership, Municipality, Village
from dispatch.services import driver_rides_release_all
from mobile_api.audit import AuditedListMixin
from mobile_api.fields import coords_json
from mobile_api.filtering import FilterOnlyWhenAsked
from mobile_api.pagination import paginated_rows
from mobile_api.serializers import (
    AssociationMessageOutput,
    AssociationOutput,
    JoinInput,
    ManagedProfileInput,
    MembershipOutput,
    MessageInput,
    MessageSentOutput,
    MunicipalityOutput,
    PersonOutput,
    ProxyLinkAcceptedOutput,
    ProxyLinkInput,
    ProxyLinkRequestOutput,
    ProxyRequestToMeOutput,
    ReleaseRidesInput,
    RidesReleasedOutput,
    RolesInput,
    SuspendInput,
    VillageOutput,
)
from mobile_api.throttles import ProxyRequestThrottle, UserRateThrottle


class MunicipalityList(generics.ListAPIView):
    serializer_class = MunicipalityOutput
    queryset = Municipality.objects.order_by("name")


class VillageList(FilterOnlyWhenAsked, generics.ListAPIView):
    serializer_class = VillageOutput
    # The outline (area) is not shown and is the largest column by far.
    queryset = Village.objects.only("id", "name", "municipality", "location").order_by("name", "pk")
    filterset_fields = ["municipality"]

    def list(self, request: Request, *args, **kwargs) -> Response:
        if self.filters_asked():
            return super().list(request, *args, **kwargs)
        # Unfiltered (what the apps ask for), read with written-out SQL.
        return paginated_rows(
            self,
            rows=lambda offset, limit: selectors.village_rows(offset=offset, limit=limit),
            count=selectors.village_count,
            shape=_village_output,
        )


def _village_output(row: dict) -> dict:
    """A row of `village_rows` as VillageOutput shows a village."""
    return {
        "id": row["id"],
        "name": row["name"],
        "municipality": row["municipality_id"],
        "location": coords_json(row["x"], row["y"]),
    }


class AssociationList(generics.ListAPIView):
    serializer_class = AssociationOutput
    filterset_fields = ["municipality"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return Association.objects.none()
        return selectors.associations_visible_to(user=self.request.user).prefetch_related(
            "villages"
        )


class AssociationJoin(APIView):
    """Ask to join an association (as a member, optionally as a volunteer driver)."""

    @extend_schema(request=JoinInput, responses={201: MembershipOutput})
    def post(self, request: Request, pk: int) -> Response:
        association = get_object_or_404(selectors.associations_visible_to(user=request.user), pk=pk)
        data = JoinInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_request(
            user=request.user, association=association, roles=data.validated_data["roles"]
        )
        return Response(MembershipOutput(membership).data, status=status.HTTP_201_CREATED)


class AssociationMemberships(AuditedListMixin, generics.ListAPIView):
    """The association's roster: all of it for a coordinator, the coordinators for a
    member, nothing for anyone else."""

    serializer_class = MembershipOutput
    audit_action = "roster.view"
    audit_subject_field = "user_id"

    def audit_detail(self) -> dict:
        return {"association": self.kwargs["pk"]}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return Membership.objects.none()
        association = get_object_or_404(
            selectors.associations_visible_to(user=self.request.user), pk=self.kwargs["pk"]
        )
        return selectors.association_memberships_for(
            viewer=self.request.user, association=association
        ).order_by("user__full_name")


def _membership(request: Request, pk: int):
    return get_object_or_404(selectors.memberships_visible_to(viewer=request.user), pk=pk)


def _audit_membership(request: Request, action: str, membership: Membership, **detail) -> None:
    audit_record(
        actor=request.user,
        action=action,
        subject=membership.user,
        detail={"membership": membership.pk, "association": membership.association_id, **detail},
    )


class MembershipApprove(APIView):
    @extend_schema(request=None, responses={200: MembershipOutput})
    def post(self, request: Request, pk: int) -> Response:
        membership = services.membership_approve(
            actor=request.user, membership=_membership(request, pk)
        )
        _audit_membership(request, "membership.approve", membership)
        return Response(MembershipOutput(membership).data)


class MembershipSuspend(APIView):
    @extend_schema(request=SuspendInput, responses={200: MembershipOutput})
    def post(self, request: Request, pk: int) -> Response:
        data = SuspendInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_suspend(
            actor=request.user,
            membership=_membership(request, pk),
            reason=data.validated_data["reason"],
        )
        _audit_membership(request, "membership.suspend", membership)
        return Response(MembershipOutput(membership).data)


class MembershipRoles(APIView):
    @extend_schema(request=RolesInput, responses={200: MembershipOutput})
    def put(self, request: Request, pk: int) -> Response:
        data = RolesInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_set_roles(
            actor=request.user,
            membership=_membership(request, pk),
            roles=data.validated_data["roles"],
        )
        _audit_membership(request, "membership.roles", membership, roles=membership.roles)
        return Response(MembershipOutput(membership).data)


class MembershipReleaseRides(APIView):
    """A coordinator gives back to dispatch all the rides the member holds as a driver of
    the association (accepted or on the way), before taking the driver role away or
    suspending them: each is offered to other drivers, its rider is told, and the driver
    gets one message listing them with the reason."""

    @extend_schema(request=ReleaseRidesInput, responses={200: RidesReleasedOutput})
    def post(self, request: Request, pk: int) -> Response:
        data = ReleaseRidesInput(data=request.data)
        data.is_valid(raise_exception=True)
        released = driver_rides_release_all(
            membership=_membership(request, pk),
            actor=request.user,
            reason=data.validated_data["reason"],
        )
        return Response(RidesReleasedOutput({"rides": [ride.pk for ride in released]}).data)


class PeopleList(AuditedListMixin, generics.ListAPIView):
    """The people I may book for: myself, those I am proxy for, and the members of the
    associations I coordinate. `?q=` finds by name or phone."""

    serializer_class = PersonOutput
    audit_action = "people.view"
    audit_subject_field = "pk"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return User.objects.none()
        people = selectors.people_actable_by(actor=self.request.user)
        query = self.request.query_params.get("q", "").strip()
        if query:
            people = selectors.people_search(people=people, query=query)
        return people.order_by("full_name")


class ManagedProfileCreate(APIView):
    """Create a resident without a login, to book for them."""

    @extend_schema(request=ManagedProfileInput, responses={201: PersonOutput})
    def post(self, request: Request) -> Response:
        data = ManagedProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        association_id = values.pop("association", None)
        association = None
        if association_id is not None:
            association = get_object_or_404(
                selectors.associations_visible_to(user=request.user), pk=association_id
            )
        person = services.managed_profile_create(
            actor=request.user, association=association, **values
        )
        audit_record(
            actor=request.user,
            action="profile.create",
            subject=person,
            detail={"association": association.pk if association else None},
        )
        return Response(PersonOutput(person).data, status=status.HTTP_201_CREATED)


class ProxyLinkCreate(APIView):
    """Ask someone (found by phone number) to book and follow things for a resident. The
    link waits for their yes; until then the answer names no one, and is the same
    whether or not anyone uses Samby with the number (a number without an account gets
    one SMS saying who asks and how to join)."""

    throttle_classes = [UserRateThrottle, ProxyRequestThrottle]

    @extend_schema(request=ProxyLinkInput, responses={201: ProxyLinkRequestOutput})
    def post(self, request: Request) -> Response:
        data = ProxyLinkInput(data=request.data)
        data.is_valid(raise_exception=True)
        resident = get_object_or_404(
            selectors.people_actable_by(actor=request.user), pk=data.validated_data["resident"]
        )
        typed = data.validated_data["proxy_phone"].strip()
        services.proxy_link_request(
            actor=request.user,
            resident=resident,
            proxy_phone=typed,
            relationship=data.validated_data["relationship"],
        )
        # No proxy id: the record is in the resident's data export, and would tell
        # whether the number has an account.
        audit_record(actor=request.user, action="proxy.create", subject=resident)
        answer = {"state": "pending", "resident": resident.pk, "proxy_phone": typed}
        return Response(ProxyLinkRequestOutput(answer).data, status=status.HTTP_201_CREATED)


class ProxyLinkRequestList(generics.ListAPIView):
    """Requests to help me that wait for my answer: whom, as what, who asked and when.
    Nothing else of the resident until I say yes."""

    serializer_class = ProxyRequestToMeOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return ProxyLink.objects.none()
        return selectors.proxy_requests_to(proxy=self.request.user)


def _proxy_link_for(*, actor: User, resident_id: int, proxy_id: int) -> ProxyLink:
    """The link, for those who may know of it: the proxy asked, and whoever acts for the
    resident. Anyone else gets 404, as if there were none."""
    if actor.pk == proxy_id:
        return get_object_or_404(
            ProxyLink.objects.select_related("resident", "proxy"),
            resident_id=resident_id,
            proxy=actor,
        )
    resident = get_object_or_404(selectors.people_actable_by(actor=actor), pk=resident_id)
    return get_object_or_404(
        ProxyLink.objects.select_related("resident", "proxy"), resident=resident, proxy_id=proxy_id
    )


class ProxyLinkDelete(APIView):
    """End a link, or take back a request. The proxy deleting a request they have not
    accepted declines it."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, resident_id: int, proxy_id: int) -> Response:
        link = _proxy_link_for(actor=request.user, resident_id=resident_id, proxy_id=proxy_id)
        declined = services.proxy_link_remove(
            actor=request.user, resident=link.resident, proxy=link.proxy
        )
        if declined:
            # Kept as the proxy's own act: under the resident, their export would name
            # who said no, which the resident is not told (docs/privacy.md, "Audit log").
            audit_record(
                actor=request.user,
                action="proxy.decline",
                subject=request.user,
                detail={"resident": link.resident_id},
            )
        else:
            audit_record(
                actor=request.user,
                action="proxy.delete",
                subject=link.resident,
                detail={"proxy": link.proxy_id},
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProxyLinkAccept(APIView):
    """The proxy says yes to a request: from now on they act for the resident."""

    @extend_schema(request=None, responses={200: ProxyLinkAcceptedOutput})
    def post(self, request: Request, resident_id: int, proxy_id: int) -> Response:
        link = _proxy_link_for(actor=request.user, resident_id=resident_id, proxy_id=proxy_id)
        link = services.proxy_link_accept(actor=request.user, link=link)
        audit_record(
            actor=request.user,
            action="proxy.accept",
            subject=link.resident,
            detail={"proxy": link.proxy_id},
        )
        answer = {
            "state": "accepted",
            "resident": link.resident_id,
            "resident_name": link.resident.full_name,
            "proxy": link.proxy_id,
            "accepted_at": link.accepted_at,
        }
        return Response(ProxyLinkAcceptedOutput(answer).data)


def _message_row(message, reach: selectors.MessageReach | None) -> dict:
    return {
        "id": message.pk,
        "text": message.text,
        "urgent": message.urgent,
        "sent_at": message.sent_at,
        "recipients": message.recipients,
        "delivered_at": message.delivered_at,
        "delivered_to": message.delivered_to,
        "read": reach.read if reach else None,
        "by_channel": reach.by_channel if reach else {},
        "failed": [
            {"full_name": name, "channel": channel}
            for name, channel in (reach.failed if reach else [])
        ],
    }


class AssociationMessage(APIView):
    """A coordinator sends a message to every active member (by their chosen channels).
    202: the message is stored; a task delivers it after the answer. GET: the latest 20
    messages and what became of each, for the association's coordinators (an empty list
    for anyone else)."""

    @extend_schema(responses={200: AssociationMessageOutput(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        association = get_object_or_404(selectors.associations_visible_to(user=request.user), pk=pk)
        messages = selectors.association_messages_for(viewer=request.user, association=association)[
            :20
        ]
        reach = selectors.association_message_reach(
            message_ids=[m.pk for m in messages if m.delivered_at]
        )
        rows = [_message_row(message, reach.get(message.pk)) for message in messages]
        return Response(AssociationMessageOutput(rows, many=True).data)

    @extend_schema(request=MessageInput, responses={202: MessageSentOutput})
    def post(self, request: Request, pk: int) -> Response:
        association = get_object_or_404(selectors.associations_visible_to(user=request.user), pk=pk)
        data = MessageInput(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.association_message_send(
            actor=request.user, association=association, **data.validated_data
        )
        answer = {"id": message.pk, "sent_to": message.recipients}
        return Response(MessageSentOutput(answer).data, status=status.HTTP_202_ACCEPTED)
