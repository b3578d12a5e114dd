from django.urls import path

from mobile_api.views import auth, community, drivers, notifications, plans, push, rides, sms, stats

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
    # Municipality statistics: analysts, their own municipality only
    path("stats/municipalities/", stats.StatsMunicipalities.as_view(), name="stats-municipalities"),
    path(
        "stats/municipalities/<int:pk>/summary",
        stats.StatsSummary.as_view(),
        name="stats-summary",
    ),
    path("stats/municipalities/<int:pk>/table", stats.StatsTable.as_view(), name="stats-table"),
    path("stats/municipalities/<int:pk>/unmet", stats.StatsUnmet.as_view(), name="stats-unmet"),
]
