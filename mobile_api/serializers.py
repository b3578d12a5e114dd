"""Input and output shapes of the API. Input serializers only parse and check types;
the rules are in the services they feed."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backend.accounts.models import Language, ProxyLink, User
from backend.community.models import Association, Membership, Municipality, Role, Village
from backend.notifications.models import Channel, Notification
from backend.notifications.selectors import notification_message
from mobile_api.fields import PointField
from mobile_api.output import FastOutput


class LoginInput(serializers.Serializer):
    identifier = serializers.CharField(
        max_length=254, help_text="Phone number (any common spelling) or e-mail address."
    )
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class RegisterInput(serializers.Serializer):
    full_name = serializers.CharField(max_length=200)
    phone = serializers.CharField(max_length=32, allow_blank=True, default="")
    email = serializers.CharField(max_length=254, allow_blank=True, default="")
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    preferred_language = serializers.ChoiceField(choices=Language.choices, default=Language.SWEDISH)


class MeOutput(serializers.ModelSerializer):
    home_location = PointField(allow_null=True)

    class Meta:
        model = User
        fields = [
            "id",
            "full_name",
            "phone",
            "email",
            "preferred_language",
            "contact_by_sms",
            "contact_by_email",
            "contact_by_push",
            "home_address",
            "home_location",
            "birth_year",
            "is_managed",
            "phone_confirmed_at",
            "email_confirmed_at",
        ]


class PhoneConfirmInput(serializers.Serializer):
    code = serializers.CharField(max_length=12)


class LoginCodeInput(serializers.Serializer):
    phone = serializers.CharField(
        max_length=32, help_text="Mobile phone number (any common spelling)."
    )


class LoginCodeVerifyInput(serializers.Serializer):
    phone = serializers.CharField(
        max_length=32, help_text="The number the code was texted to (any common spelling)."
    )
    code = serializers.CharField(max_length=12, help_text="The six digits from the SMS.")


class PasswordChangeInput(serializers.Serializer):
    current_password = serializers.CharField(
        max_length=200,
        trim_whitespace=False,
        required=False,
        help_text="Needed, unless this token came from signing in with a code by SMS "
        "(`auth/login/code/verify`) less than 15 minutes ago.",
    )
    new_password = serializers.CharField(max_length=200, trim_whitespace=False)


class EmailConfirmInput(serializers.Serializer):
    token = serializers.CharField(max_length=500)


class MeUpdateInput(serializers.Serializer):
    full_name = serializers.CharField(max_length=200, required=False)
    phone = serializers.CharField(max_length=32, allow_blank=True, required=False)
    email = serializers.CharField(max_length=254, allow_blank=True, required=False)
    preferred_language = serializers.ChoiceField(choices=Language.choices, required=False)
    contact_by_sms = serializers.BooleanField(required=False)
    contact_by_email = serializers.BooleanField(required=False)
    contact_by_push = serializers.BooleanField(required=False)
    home_address = serializers.CharField(
        max_length=300,
        allow_blank=True,
        required=False,
        help_text="Where I live: suggested as the pickup when I book a ride or a shop run. "
        "The point (`home_location`) follows it: the one sent with it, else the address "
        "looked up (400 on this field when it cannot be found, 409 when addresses cannot be "
        "looked up just now; nothing is changed then). Empty removes both.",
    )
    home_location = PointField(
        allow_null=True,
        required=False,
        help_text="The point of my home. With `home_address`, used instead of looking the "
        "address up (null: look it up). Alone, it moves the point and keeps the address.",
    )
    birth_year = serializers.IntegerField(
        min_value=1900, max_value=2100, allow_null=True, required=False
    )


class PersonOutput(FastOutput, serializers.ModelSerializer):
    """A person someone may act for: enough to pick them from a list and to call them."""

    class Meta:
        model = User
        fields = ["id", "full_name", "phone", "is_managed"]


class MunicipalityOutput(serializers.ModelSerializer):
    class Meta:
        model = Municipality
        fields = ["id", "name", "code"]


class VillageOutput(FastOutput, serializers.ModelSerializer):
    location = PointField()

    class Meta:
        model = Village
        fields = ["id", "name", "municipality", "location"]


class AssociationOutput(serializers.ModelSerializer):
    class Meta:
        model = Association
        fields = ["id", "name", "municipality", "villages", "phone", "email"]


class MembershipOutput(serializers.ModelSerializer):
    user = PersonOutput()
    association = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "association", "roles", "state", "state_reason", "created_at"]


class JoinInput(serializers.Serializer):
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=[Role.MEMBER, Role.DRIVER]),
        default=[Role.MEMBER],
        max_length=3,
    )


class SuspendInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class RolesInput(serializers.Serializer):
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), max_length=3)


class ReleaseRidesInput(serializers.Serializer):
    reason = serializers.CharField(
        max_length=300, help_text="Why the rides go back to dispatch; the driver sees it."
    )


class RidesReleasedOutput(serializers.Serializer):
    rides = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The rides given back to dispatch, soonest first (empty when the driver "
        "held none). Rides with the passenger on board stay with the driver.",
    )


class MessageInput(serializers.Serializer):
    text = serializers.CharField(max_length=600)
    urgent = serializers.BooleanField(default=False)


class MessageSentOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="The stored message.")
    sent_to = serializers.IntegerField(
        help_text="How many members it goes to; they get it within moments, by their "
        "chosen channels."
    )


class FailedDeliveryOutput(serializers.Serializer):
    full_name = serializers.CharField()
    channel = serializers.CharField(help_text="sms, email or push.")


class AssociationMessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    urgent = serializers.BooleanField()
    sent_at = serializers.DateTimeField()
    sent_to = serializers.IntegerField(source="recipients")
    delivered_at = serializers.DateTimeField(
        allow_null=True, help_text="When the members were notified; null until then."
    )
    delivered_to = serializers.IntegerField(
        allow_null=True,
        help_text="How many were notified: fewer than sent_to if members left in between.",
    )
    read = serializers.IntegerField(
        allow_null=True, help_text="How many have read it in the app; null until delivered."
    )
    by_channel = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text='SMS, e-mail and push by how they ended, e.g. {"sms": {"sent": 30, '
        '"failed": 2}}; statuses: pending, sent, failed, skipped. Empty until delivered.',
    )
    failed = FailedDeliveryOutput(
        many=True, help_text="Members it could not be sent to, by name: call them."
    )


class ManagedProfileInput(serializers.Serializer):
    full_name = serializers.CharField(max_length=200)
    phone = serializers.CharField(max_length=32, allow_blank=True, default="")
    home_address = serializers.CharField(max_length=300, allow_blank=True, default="")
    association = serializers.IntegerField(
        required=False, allow_null=True, help_text="Coordinators: create inside this association."
    )
    relationship = serializers.CharField(max_length=100, allow_blank=True, default="")


class ProxyLinkInput(serializers.Serializer):
    resident = serializers.IntegerField(help_text="The person to be acted for (often yourself).")
    proxy_phone = serializers.CharField(max_length=32, help_text="Phone number of the proxy.")
    relationship = serializers.CharField(max_length=100, allow_blank=True, default="")


class ProxyLinkRequestOutput(serializers.Serializer):
    """A request sent: it names no one, since the person with that number has not said
    yes. Their name shows once they accept."""

    state = serializers.ChoiceField(
        choices=["pending"], help_text="Always pending: the proxy has not answered yet."
    )
    resident = serializers.IntegerField(help_text="The person to be acted for.")
    proxy_phone = serializers.CharField(help_text="The phone number as it was typed.")


class ProxyRequestToMeOutput(serializers.Serializer):
    """A request to help me that waits for my answer. Of the resident only the name:
    the rest is theirs to show once I act for them."""

    resident = serializers.IntegerField(
        source="resident_id", help_text="The person who would be helped."
    )
    resident_name = serializers.CharField(source="resident.full_name")
    relationship = serializers.CharField(help_text="As the asker wrote it; may be empty.")
    asked_by = serializers.SerializerMethodField(
        help_text="Who asked: the resident themself, or someone who acts for them."
    )
    asked_at = serializers.DateTimeField(source="created_at")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_asked_by(self, link: ProxyLink) -> str | None:
        return link.created_by.full_name if link.created_by is not None else None


class ProxyLinkAcceptedOutput(serializers.Serializer):
    state = serializers.ChoiceField(choices=["accepted"])
    resident = serializers.IntegerField(help_text="The person you now act for.")
    resident_name = serializers.CharField()
    proxy = serializers.IntegerField(help_text="You.")
    accepted_at = serializers.DateTimeField()


class NotificationOutput(serializers.Serializer):
    """The same shape as a live websocket message."""

    def to_representation(self, instance: Notification) -> dict:
        return notification_message(instance, language=self.context["language"])


class MarkReadInput(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=500
    )
    up_to = serializers.IntegerField(min_value=1, required=False)


class KindChannelsSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=60)
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.choices), max_length=4
    )


class QuietHoursSerializer(serializers.Serializer):
    start = serializers.TimeField(format="%H:%M")
    end = serializers.TimeField(format="%H:%M")


class PreferencesInput(serializers.Serializer):
    kinds = KindChannelsSerializer(many=True, required=False)
    quiet_hours = QuietHoursSerializer(required=False)


class KindPreferenceOutput(KindChannelsSerializer):
    title = serializers.CharField()
    allowed_channels = serializers.ListField(child=serializers.CharField())
    customised = serializers.BooleanField()


class PreferencesOutput(serializers.Serializer):
    kinds = KindPreferenceOutput(many=True)
    quiet_hours = QuietHoursSerializer()
