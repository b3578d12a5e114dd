from django.urls import path

from mobile_api.views import (
    auth,
    community,
    drivers,
    notifications,
    plans,
    push,
    rides,
    sharing,
    sms,
)

urlpatterns = [
    path("auth/login", auth.LoginView.as_view(), name="auth-login"),
    path("auth/logout", auth.LogoutView.as_view(), name="auth-logout"),
    path("auth/register", auth.RegisterView.as_view(), name="auth-register"),
    path("auth/me", auth.MeView.as_view(), name="auth-me"),
    path("municipalities/", community.MunicipalityList.as_view(), name="municipality-list"),
    path("villages/", community.VillageList.as_view(), name="village-list"),
    path("associations/", community.AssociationList.as_view(), name="association-list"),
    path(
        "associations/<int:pk>/join", community.AssociationJoin.as_view(), name="association-join"
    ),
    path(
        "associations/<int:pk>/memberships/",
        community.AssociationMemberships.as_view(),
        name="association-memberships",
    ),
    path(
        "associations/<int:pk>/messages",
        community.AssociationMessage.as_view(),
        name="association-message",
    ),
    path(
        "memberships/<int:pk>/approve",
        community.MembershipApprove.as_view(),
        name="membership-approve",
    ),
    path(
        "memberships/<int:pk>/suspend",
        community.MembershipSuspend.as_view(),
        name="membership-suspend",
    ),
    path(
        "memberships/<int:pk>/roles", community.MembershipRoles.as_view(), name="membership-roles"
    ),
    path("people/", community.PeopleList.as_view(), name="people-list"),
    path(
        "managed-profiles/", community.ManagedProfileCreate.as_view(), name="managed-profile-create"
    ),
    path("proxy-links/", community.ProxyLinkCreate.as_view(), name="proxy-link-create"),
    path(
        "proxy-links/<int:resident_id>/<int:proxy_id>",
        community.ProxyLinkDelete.as_view(),
        name="proxy-link-delete",
    ),
    path("notifications/", notifications.Inbox.as_view(), name="notification-list"),
    path("notifications/read", notifications.MarkRead.as_view(), name="notification-read"),
    path(
        "notifications/preferences",
        notifications.Preferences.as_view(),
        name="notification-preferences",
    ),
    # Web Push
    path("push/key", push.PushKey.as_view(), name="push-key"),
    path("push/subscriptions", push.PushSubscriptions.as_view(), name="push-subscriptions"),
    # Inbound SMS: the provider's webhook
    path("sms/inbound/<str:provider>", sms.InboundSms.as_view(), name="sms-inbound"),
    # Volunteer rides: riders, drivers and coordinators
    path("rides/", rides.RideList.as_view(), name="ride-list"),
    path("rides/<int:pk>", rides.RideDetail.as_view(), name="ride-detail"),
    path("rides/<int:pk>/cancel", rides.RideCancel.as_view(), name="ride-cancel"),
    path("rides/<int:pk>/start", rides.RideStart.as_view(), name="ride-start"),
    path("rides/<int:pk>/picked-up", rides.RidePickedUp.as_view(), name="ride-picked-up"),
    path("rides/<int:pk>/complete", rides.RideComplete.as_view(), name="ride-complete"),
    path("rides/<int:pk>/no-show", rides.RideNoShow.as_view(), name="ride-no-show"),
    path("rides/<int:pk>/withdraw", rides.RideWithdraw.as_view(), name="ride-withdraw"),
    path("rides/<int:pk>/suggestions", rides.RideSuggestions.as_view(), name="ride-suggestions"),
    path("rides/<int:pk>/assign", rides.RideAssign.as_view(), name="ride-assign"),
    path("rides/<int:pk>/events", rides.RideEvents.as_view(), name="ride-events"),
    path("offers/", rides.OfferList.as_view(), name="offer-list"),
    path("offers/<int:pk>/accept", rides.OfferAccept.as_view(), name="offer-accept"),
    path("offers/<int:pk>/decline", rides.OfferDecline.as_view(), name="offer-decline"),
    path(
        "associations/<int:pk>/rides/",
        rides.AssociationRides.as_view(),
        name="association-rides",
    ),
    path(
        "associations/<int:pk>/mileage",
        rides.AssociationMileage.as_view(),
        name="association-mileage",
    ),
    path(
        "memberships/<int:pk>/rider-approval",
        rides.RiderApprove.as_view(),
        name="membership-rider-approval",
    ),
    path("driver/profile", drivers.DriverProfileView.as_view(), name="driver-profile"),
    path("driver/availability", drivers.DriverAvailability.as_view(), name="driver-availability"),
    path("driver/exceptions", drivers.DriverExceptions.as_view(), name="driver-exceptions"),
    path("driver/duty", drivers.DriverDuty.as_view(), name="driver-duty"),
    path("driver/position", drivers.DriverPosition.as_view(), name="driver-position"),
    path("driver/logbook", drivers.DriverLogbook.as_view(), name="driver-logbook"),
    path(
        "associations/<int:pk>/plans/", plans.AssociationPlans.as_view(), name="association-plans"
    ),
    path("plans/<int:pk>/approve", plans.PlanApprove.as_view(), name="plan-approve"),
    path("plans/<int:pk>/discard", plans.PlanDiscard.as_view(), name="plan-discard"),
    # Shared cars, tools and rooms
    path("sharing/resources/", sharing.ResourceList.as_view(), name="sharing-resource-list"),
    path(
        "sharing/resources/<int:pk>",
        sharing.ResourceDetail.as_view(),
        name="sharing-resource-detail",
    ),
    path(
        "sharing/resources/<int:pk>/photos",
        sharing.ResourcePhotos.as_view(),
        name="sharing-resource-photos",
    ),
    path("sharing/photos/<int:pk>", sharing.PhotoDelete.as_view(), name="sharing-photo-delete"),
    path(
        "sharing/resources/<int:pk>/calendar",
        sharing.ResourceCalendar.as_view(),
        name="sharing-resource-calendar",
    ),
    path(
        "sharing/resources/<int:pk>/bookings",
        sharing.ResourceBook.as_view(),
        name="sharing-resource-book",
    ),
    path(
        "sharing/resources/<int:pk>/waitlist",
        sharing.ResourceWaitlist.as_view(),
        name="sharing-resource-waitlist",
    ),
    path(
        "sharing/resources/<int:pk>/problems",
        sharing.ResourceProblems.as_view(),
        name="sharing-resource-problems",
    ),
    path(
        "sharing/resources/<int:pk>/back-in-service",
        sharing.ResourceBackInService.as_view(),
        name="sharing-resource-back-in-service",
    ),
    path(
        "sharing/resources/<int:pk>/clearances",
        sharing.ResourceClearances.as_view(),
        name="sharing-resource-clearances",
    ),
    path(
        "sharing/resources/<int:pk>/feed",
        sharing.ResourceFeed.as_view(),
        name="sharing-resource-feed",
    ),
    path("sharing/bookings/", sharing.MyBookings.as_view(), name="sharing-booking-list"),
    path(
        "sharing/bookings/<int:pk>", sharing.BookingDetail.as_view(), name="sharing-booking-detail"
    ),
    path(
        "sharing/bookings/<int:pk>/approve",
        sharing.BookingApprove.as_view(),
        name="sharing-booking-approve",
    ),
    path(
        "sharing/bookings/<int:pk>/decline",
        sharing.BookingDecline.as_view(),
        name="sharing-booking-decline",
    ),
    path(
        "sharing/bookings/<int:pk>/cancel",
        sharing.BookingCancel.as_view(),
        name="sharing-booking-cancel",
    ),
    path(
        "sharing/bookings/<int:pk>/check-out",
        sharing.BookingCheckOut.as_view(),
        name="sharing-booking-check-out",
    ),
    path(
        "sharing/bookings/<int:pk>/check-in",
        sharing.BookingCheckIn.as_view(),
        name="sharing-booking-check-in",
    ),
    path("sharing/approvals/", sharing.Approvals.as_view(), name="sharing-approvals"),
    path("sharing/feed", sharing.MyFeed.as_view(), name="sharing-feed"),
    path("sharing/feeds/<str:token>.ics", sharing.IcalFeed.as_view(), name="sharing-ical"),
]
