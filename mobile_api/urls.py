from django.urls import path

from mobile_api.views import (
    auth,
    carpool,
    community,
    drivers,
    notifications,
    plans,
    push,
    rides,
    sharing,
    shuttle,
    sms,
    stats,
)

urlpatterns = [
    path("auth/login", auth.LoginView.as_view(), name="auth-login"),
    path("auth/login/code", auth.LoginCodeView.as_view(), name="auth-login-code"),
    path(
        "auth/login/code/verify",
        auth.LoginCodeVerifyView.as_view(),
        name="auth-login-code-verify",
    ),
    path("auth/logout", auth.LogoutView.as_view(), name="auth-logout"),
    path("auth/register", auth.RegisterView.as_view(), name="auth-register"),
    path("auth/me", auth.MeView.as_view(), name="auth-me"),
    path("auth/phone/code", auth.PhoneCodeView.as_view(), name="auth-phone-code"),
    path("auth/phone/confirm", auth.PhoneConfirmView.as_view(), name="auth-phone-confirm"),
    path("auth/password", auth.PasswordChangeView.as_view(), name="auth-password"),
    path("auth/email/link", auth.EmailLinkView.as_view(), name="auth-email-link"),
    path("auth/email/confirm", auth.EmailConfirmView.as_view(), name="auth-email-confirm"),
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
    path(
        "memberships/<int:pk>/release-rides",
        community.MembershipReleaseRides.as_view(),
        name="membership-release-rides",
    ),
    path("people/", community.PeopleList.as_view(), name="people-list"),
    path(
        "managed-profiles/", community.ManagedProfileCreate.as_view(), name="managed-profile-create"
    ),
    path("proxy-links/", community.ProxyLinkCreate.as_view(), name="proxy-link-create"),
    path(
        "proxy-links/requests",
        community.ProxyLinkRequestList.as_view(),
        name="proxy-link-requests",
    ),
    path(
        "proxy-links/<int:resident_id>/<int:proxy_id>",
        community.ProxyLinkDelete.as_view(),
        name="proxy-link-delete",
    ),
    path(
        "proxy-links/<int:resident_id>/<int:proxy_id>/accept",
        community.ProxyLinkAccept.as_view(),
        name="proxy-link-accept",
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
    path("rides/places", rides.RidePlaces.as_view(), name="ride-places"),
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
        "associations/<int:pk>/mileage-claims/",
        rides.AssociationMileageClaims.as_view(),
        name="association-mileage-claims",
    ),
    path(
        "mileage-claims/<int:pk>/approve",
        rides.MileageClaimApprove.as_view(),
        name="mileage-claim-approve",
    ),
    path(
        "mileage-claims/<int:pk>/decline",
        rides.MileageClaimDecline.as_view(),
        name="mileage-claim-decline",
    ),
    path(
        "memberships/<int:pk>/rider-approval",
        rides.RiderApprove.as_view(),
        name="membership-rider-approval",
    ),
    path("driver/profile", drivers.DriverProfileView.as_view(), name="driver-profile"),
    path("driver/availability", drivers.DriverAvailability.as_view(), name="driver-availability"),
    path("driver/exceptions", drivers.DriverExceptions.as_view(), name="driver-exceptions"),
    path("driver/exceptions/<int:pk>", drivers.DriverException.as_view(), name="driver-exception"),
    path("driver/duty", drivers.DriverDuty.as_view(), name="driver-duty"),
    path("driver/position", drivers.DriverPosition.as_view(), name="driver-position"),
    path("driver/logbook", drivers.DriverLogbook.as_view(), name="driver-logbook"),
    path(
        "associations/<int:pk>/plans/", plans.AssociationPlans.as_view(), name="association-plans"
    ),
    path("plans/<int:pk>/approve", plans.PlanApprove.as_view(), name="plan-approve"),
    path("plans/<int:pk>/discard", plans.PlanDiscard.as_view(), name="plan-discard"),
    # Shop runs: sign-up pages, the coordinator's run list and run sheet, drivers
    path("shuttle/schedules/", shuttle.ScheduleList.as_view(), name="shuttle-schedules"),
    path("shuttle/runs/", shuttle.RunList.as_view(), name="shuttle-runs"),
    path("shuttle/runs/<int:pk>", shuttle.RunDetail.as_view(), name="shuttle-run"),
    path("shuttle/runs/<int:pk>/signups", shuttle.RunSignups.as_view(), name="shuttle-run-signups"),
    path("shuttle/runs/<int:pk>/cancel", shuttle.RunCancel.as_view(), name="shuttle-run-cancel"),
    path("shuttle/runs/<int:pk>/move", shuttle.RunMove.as_view(), name="shuttle-run-move"),
    path("shuttle/runs/<int:pk>/plan", shuttle.RunPlan.as_view(), name="shuttle-run-plan"),
    path("shuttle/runs/<int:pk>/sheet", shuttle.RunSheet.as_view(), name="shuttle-run-sheet"),
    path(
        "shuttle/runs/<int:pk>/offer-drivers",
        shuttle.RunOfferDrivers.as_view(),
        name="shuttle-run-offer-drivers",
    ),
    path("shuttle/runs/<int:pk>/assign", shuttle.RunAssign.as_view(), name="shuttle-run-assign"),
    path(
        "shuttle/associations/<int:pk>/runs/",
        shuttle.AssociationRunList.as_view(),
        name="shuttle-association-runs",
    ),
    path("shuttle/signups/", shuttle.SignupList.as_view(), name="shuttle-signups"),
    path(
        "shuttle/signups/<int:pk>/cancel",
        shuttle.SignupCancel.as_view(),
        name="shuttle-signup-cancel",
    ),
    path(
        "shuttle/signups/<int:pk>/accept-seat",
        shuttle.SignupAcceptSeat.as_view(),
        name="shuttle-signup-accept-seat",
    ),
    path(
        "shuttle/signups/<int:pk>/decline-seat",
        shuttle.SignupDeclineSeat.as_view(),
        name="shuttle-signup-decline-seat",
    ),
    path(
        "shuttle/signups/<int:pk>/outcome",
        shuttle.SignupOutcome.as_view(),
        name="shuttle-signup-outcome",
    ),
    path("shuttle/standing/", shuttle.StandingList.as_view(), name="shuttle-standing"),
    path(
        "shuttle/standing/<int:pk>/end", shuttle.StandingEnd.as_view(), name="shuttle-standing-end"
    ),
    path("shuttle/offers/", shuttle.RunOfferList.as_view(), name="shuttle-offers"),
    path(
        "shuttle/offers/<int:pk>/accept",
        shuttle.RunOfferAccept.as_view(),
        name="shuttle-offer-accept",
    ),
    path(
        "shuttle/offers/<int:pk>/decline",
        shuttle.RunOfferDecline.as_view(),
        name="shuttle-offer-decline",
    ),
    path(
        "shuttle/vehicles/<int:pk>/withdraw",
        shuttle.VehicleWithdraw.as_view(),
        name="shuttle-vehicle-withdraw",
    ),
    # Carpooling: search and book seats, offer trips, ride alerts
    path("carpool/search", carpool.CarpoolSearch.as_view(), name="carpool-search"),
    path("carpool/trips/", carpool.TripList.as_view(), name="carpool-trip-list"),
    path("carpool/trips/<int:pk>", carpool.TripDetail.as_view(), name="carpool-trip-detail"),
    path("carpool/trips/<int:pk>/cancel", carpool.TripCancel.as_view(), name="carpool-trip-cancel"),
    path("carpool/departures/", carpool.DepartureList.as_view(), name="carpool-departure-list"),
    path(
        "carpool/departures/<int:pk>",
        carpool.DepartureDetail.as_view(),
        name="carpool-departure-detail",
    ),
    path(
        "carpool/departures/<int:pk>/cancel",
        carpool.DepartureCancel.as_view(),
        name="carpool-departure-cancel",
    ),
    path(
        "carpool/departures/<int:pk>/move",
        carpool.DepartureMove.as_view(),
        name="carpool-departure-move",
    ),
    path("carpool/bookings/", carpool.BookingList.as_view(), name="carpool-booking-list"),
    path("carpool/bookings/<int:pk>", carpool.BookingDetail.as_view(), name="carpool-booking"),
    path(
        "carpool/bookings/<int:pk>/accept",
        carpool.BookingAccept.as_view(),
        name="carpool-booking-accept",
    ),
    path(
        "carpool/bookings/<int:pk>/decline",
        carpool.BookingDecline.as_view(),
        name="carpool-booking-decline",
    ),
    path(
        "carpool/bookings/<int:pk>/cancel",
        carpool.BookingCancel.as_view(),
        name="carpool-booking-cancel",
    ),
    path("carpool/bookings/<int:pk>/rating", carpool.BookingRate.as_view(), name="carpool-rating"),
    path(
        "carpool/bookings/<int:pk>/report", carpool.BookingReport.as_view(), name="carpool-report"
    ),
    path(
        "carpool/saved-searches/",
        carpool.SavedSearchList.as_view(),
        name="carpool-saved-search-list",
    ),
    path(
        "carpool/saved-searches/<int:pk>",
        carpool.SavedSearchDetail.as_view(),
        name="carpool-saved-search",
    ),
    # Volunteer rides: closing a ride without a driver; the driver's own rides
    path("rides/<int:pk>/unfulfilled", rides.RideUnfulfilled.as_view(), name="ride-unfulfilled"),
    path("driver/rides", drivers.DriverRides.as_view(), name="driver-rides"),
    # Municipality statistics: analysts, their own municipality only
    path("stats/municipalities/", stats.StatsMunicipalities.as_view(), name="stats-municipalities"),
    path(
        "stats/municipalities/<int:pk>/summary",
        stats.StatsSummary.as_view(),
        name="stats-summary",
    ),
    path("stats/municipalities/<int:pk>/table", stats.StatsTable.as_view(), name="stats-table"),
    path("stats/municipalities/<int:pk>/unmet", stats.StatsUnmet.as_view(), name="stats-unmet"),
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

# --- Open data: the shared cars as GBFS v3.0 (public, cacheable) -------------------------
from mobile_api.views.gbfs import gbfs_url_name, gbfs_versions_files, gbfs_view  # noqa: E402

urlpatterns += [
    path(
        f"gbfs/v3/<int:association_id>/{name}.json",
        gbfs_view(name),
        name=f"gbfs-{name.replace('_', '-')}",
    )
    for name in (
        "gbfs",
        "system_information",
        "vehicle_types",
        "station_information",
        "station_status",
        "system_pricing_plans",
        "vehicle_availability",
    )
]
# The same feed as GBFS v3.1-RC3, whose gbfs.json lists vehicle_availability.
urlpatterns += [
    path(
        f"gbfs/v3.1-RC3/<int:association_id>/{name}.json",
        gbfs_view(name, version="3.1-RC3"),
        name=gbfs_url_name("3.1-RC3", name),
    )
    for name in ("gbfs", *gbfs_versions_files("3.1-RC3"))
]

# --- Open data: shop runs as GTFS-Flex (public, cacheable) --------------------------------
from mobile_api.views.gtfs import GtfsFlexFeed  # noqa: E402

urlpatterns += [
    path(
        "gtfs/<int:association_id>/gtfs-flex.zip",
        GtfsFlexFeed.as_view(),
        name="gtfs-flex-feed",
    ),
]

# --- A person's data: export and erasure (docs/privacy.md) --------------------------------
from mobile_api.views import privacy  # noqa: E402

urlpatterns += [
    path("people/<int:pk>/export", privacy.PersonExport.as_view(), name="person-export"),
    path("people/<int:pk>/erase", privacy.PersonErase.as_view(), name="person-erase"),
]
