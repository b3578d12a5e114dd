from django.urls import include, path

from webapp.views import (
    auth,
    calendar_feed,
    driver,
    email_confirmation,
    home,
    join,
    notifications,
    password,
    profile,
    pwa,
    rides,
)

app_name = "webapp"
urlpatterns = [
    path("", home.home, name="home"),
    path("stats/", include("webapp.stats.urls")),
    # Signing in and out, language
    path("sign-in", auth.sign_in, name="sign-in"),
    path("sign-in/code", auth.code_request, name="sign-in-code"),
    path("sign-in/code/verify", auth.code_verify, name="sign-in-code-verify"),
    path("sign-in/email", auth.email_link_request, name="sign-in-email"),
    # The link e-mailed to sign in (accounts.email_sign_in.sign_in_link_path).
    path(
        "sign-in/email/<str:uid>/<str:token>",
        auth.email_link_sign_in,
        name="sign-in-email-link",
    ),
    path("sign-out", auth.sign_out, name="sign-out"),
    path("join", join.join, name="join"),
    path("language", auth.set_language, name="language"),
    # Volunteer rides
    path("rides/", rides.ride_list, name="rides"),
    path("rides/new", rides.ride_new, name="ride-new"),
    path("rides/<int:pk>/", rides.ride_detail, name="ride"),
    path("rides/<int:pk>/cancel", rides.ride_cancel, name="ride-cancel"),
    path("places", rides.places, name="places"),
    # Notifications and profile
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read", notifications.notification_read, name="notifications-read"),
    # A message's link (push, e-mail, the lists): backend.notifications.channels.OPEN_PATH.
    path(
        "notifications/<int:pk>/open",
        notifications.notification_open,
        name="notification-open",
    ),
    path(
        "notifications/choices",
        notifications.notification_choices,
        name="notification-choices",
    ),
    path("profile/", profile.profile, name="profile"),
    path("profile/export", profile.export, name="profile-export"),
    path("profile/home", profile.home, name="profile-home"),
    path("profile/calendar", calendar_feed.calendar_feed, name="calendar-feed"),
    path("profile/calendar/new", calendar_feed.calendar_feed_rotate, name="calendar-feed-new"),
    path("profile/password", password.password_change, name="password-change"),
    path("profile/phone", join.phone_confirm_page, name="phone-confirm"),
    path("profile/phone/code", join.phone_code, name="phone-code"),
    path("profile/email/link", email_confirmation.email_link, name="email-link"),
    # The link e-mailed to confirm an address (accounts.email_confirmation.email_link_url).
    path("email/<str:token>", email_confirmation.email_confirm_page, name="email-confirm"),
    path("profile/erase", profile.erase, name="profile-erase"),
    path("erased", profile.erased, name="erased"),
    # Driver mode
    path("driver/", driver.driver_home, name="driver"),
    path("driver/duty", driver.duty, name="driver-duty"),
    path("driver/position", driver.position, name="driver-position"),
    path(
        "driver/offers/<int:pk>/<str:answer>",
        driver.offer_answer,
        name="driver-offer",
    ),
    path("driver/rides/<int:pk>/", driver.driver_ride, name="driver-ride"),
    path(
        "driver/rides/<int:pk>/<str:action>",
        driver.driver_ride_action,
        name="driver-ride-action",
    ),
    path("driver/availability", driver.availability, name="driver-availability"),
    path(
        "driver/availability/exception",
        driver.availability_exception,
        name="driver-availability-exception",
    ),
    path(
        "driver/availability/exception/<int:pk>/remove",
        driver.availability_exception_delete,
        name="driver-availability-exception-remove",
    ),
    path("driver/km", driver.kilometres, name="driver-km"),
    path("driver/profile", driver.car_and_area, name="driver-profile"),
    # Installable app
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service-worker"),
    path("offline", pwa.offline, name="offline"),
]

# Shop runs: the driver's run sheet (printable, and on the phone).
from webapp import shuttle  # noqa: E402

urlpatterns += [
    path("shuttle/runs/<int:pk>/sheet", shuttle.run_sheet_page, name="shuttle-run-sheet"),
]

# Carpooling and shop runs for residents.
from webapp.views import carpool, shop_runs  # noqa: E402

urlpatterns += [
    path("carpool/", carpool.find, name="carpool"),
    path("carpool/book", carpool.book, name="carpool-book"),
    path("carpool/bookings", carpool.bookings, name="carpool-bookings"),
    path("carpool/bookings/<int:pk>/cancel", carpool.booking_cancel, name="carpool-booking-cancel"),
    path("carpool/bookings/<int:pk>/after", carpool.after_trip, name="carpool-after-trip"),
    path("carpool/offer", carpool.offer, name="carpool-offer"),
    path("carpool/trips", carpool.trips, name="carpool-trips"),
    path("carpool/trips/<int:pk>/cancel", carpool.trip_cancel, name="carpool-trip-cancel"),
    path("carpool/trips/<int:pk>/edit", carpool.trip_edit, name="carpool-trip-edit"),
    path(
        "carpool/departures/<int:pk>/cancel",
        carpool.departure_cancel,
        name="carpool-departure-cancel",
    ),
    path(
        "carpool/departures/<int:pk>/move",
        carpool.departure_move,
        name="carpool-departure-move",
    ),
    path("carpool/requests/<int:pk>/<str:answer>", carpool.request_answer, name="carpool-request"),
    path("carpool/alerts", carpool.alerts, name="carpool-alerts"),
    path("carpool/alerts/<int:pk>/delete", carpool.alert_delete, name="carpool-alert-delete"),
    path("shop-runs/", shop_runs.run_list, name="shop-runs"),
    path("shop-runs/<int:pk>/sign-up", shop_runs.signup, name="shop-run-signup"),
    path("shop-runs/sign-ups/<int:pk>/cancel", shop_runs.signup_cancel, name="shop-run-cancel"),
    path(
        "shop-runs/sign-ups/<int:pk>/seat/<str:answer>",
        shop_runs.seat_offer,
        name="shop-run-seat",
    ),
    path(
        "shop-runs/standing/<int:pk>/stop",
        shop_runs.standing_stop,
        name="shop-run-standing-stop",
    ),
]

# The association console, for coordinators.
from webapp.views.console import board, messages, mileage, phone, roster, runs  # noqa: E402

urlpatterns += [
    path("console/", board.board, name="console"),
    path("console/rides/<int:pk>/", board.ride, name="console-ride"),
    path("console/rides/<int:pk>/assign", board.assign, name="console-assign"),
    path("console/rides/<int:pk>/reassign", board.reassign, name="console-reassign"),
    path("console/rides/<int:pk>/cancel", board.cancel, name="console-ride-cancel"),
    path("console/phone/", phone.phone, name="console-phone"),
    path("console/phone/new", phone.person_new, name="console-person-new"),
    path("console/phone/<int:pk>/", phone.book, name="console-book"),
    path("console/phone/seats/<int:pk>/cancel", phone.seat_cancel, name="console-seat-cancel"),
    path("console/phone/things/<int:pk>/cancel", phone.item_cancel, name="console-item-cancel"),
    path("console/roster/", roster.roster, name="console-roster"),
    # Before the roster's actions, which would take "release-rides" and "coordinator" for
    # theirs.
    path(
        "console/roster/<int:pk>/release-rides",
        roster.release_rides,
        name="console-release-rides",
    ),
    path(
        "console/roster/<int:pk>/coordinator",
        roster.coordinator_role,
        name="console-coordinator-role",
    ),
    path(
        "console/roster/<int:pk>/<str:action>",
        roster.membership_action,
        name="console-membership",
    ),
    path("console/runs/", runs.runs, name="console-runs"),
    path("console/runs/<int:pk>/assign", runs.run_assign, name="console-run-assign"),
    path("console/runs/new", runs.run_new, name="console-run-new"),
    path("console/runs/<int:pk>/cancel", runs.run_cancel, name="console-run-cancel"),
    path("console/runs/<int:pk>/move", runs.run_move, name="console-run-move"),
    path(
        "console/runs/schedules/<int:pk>/stop",
        runs.schedule_stop,
        name="console-run-schedule-stop",
    ),
    path("console/messages/", messages.member_messages, name="console-messages"),
    path("console/mileage/", mileage.mileage, name="console-mileage"),
    path("console/mileage.csv", mileage.mileage_csv, name="console-mileage-csv"),
    path("console/mileage/paid", mileage.mark_paid, name="console-mileage-paid"),
    path(
        "console/mileage/claims/<int:pk>/approve",
        mileage.claim_approve,
        name="console-mileage-claim-approve",
    ),
    path(
        "console/mileage/claims/<int:pk>/decline",
        mileage.claim_decline,
        name="console-mileage-claim-decline",
    ),
]

# Shared cars, tools and rooms for residents.
from webapp.views import sharing  # noqa: E402

urlpatterns += [
    path("sharing/", sharing.browse, name="sharing"),
    path("sharing/<int:pk>/", sharing.resource_detail, name="sharing-resource"),
    path("sharing/<int:pk>/book", sharing.book, name="sharing-book"),
    path("sharing/<int:pk>/problem", sharing.problem, name="sharing-problem"),
    path("sharing/bookings", sharing.bookings, name="sharing-bookings"),
    path(
        "sharing/bookings/<int:pk>/cancel",
        sharing.booking_cancel,
        name="sharing-booking-cancel",
    ),
    path(
        "sharing/bookings/<int:pk>/check-out",
        sharing.booking_check_out,
        name="sharing-check-out",
    ),
    path(
        "sharing/bookings/<int:pk>/check-in",
        sharing.booking_check_in,
        name="sharing-check-in",
    ),
]


# Things a resident lends: the owner's pages.
from webapp.views import my_things  # noqa: E402

urlpatterns += [
    path("sharing/mine", my_things.mine, name="sharing-mine"),
    path("sharing/new", my_things.new, name="sharing-new"),
    path("sharing/mine/<int:pk>/edit", my_things.edit, name="sharing-edit"),
    path("sharing/mine/<int:pk>/approve", my_things.approve, name="sharing-approve"),
    path("sharing/mine/<int:pk>/decline", my_things.decline, name="sharing-decline"),
    path("sharing/mine/<int:pk>/out-of-service", my_things.out_of_service, name="sharing-out"),
    path("sharing/mine/<int:pk>/in-service", my_things.in_service, name="sharing-in"),
    path("sharing/mine/<int:pk>/photo-delete", my_things.photo_delete, name="sharing-photo-delete"),
]

# The association console: shared things.
from webapp.views.console import sharing as console_sharing  # noqa: E402

urlpatterns += [
    path("console/sharing/", console_sharing.sharing, name="console-sharing"),
    path(
        "console/sharing/bookings/<int:pk>/approve",
        console_sharing.booking_approve_view,
        name="console-sharing-approve",
    ),
    path(
        "console/sharing/bookings/<int:pk>/decline",
        console_sharing.booking_decline_view,
        name="console-sharing-decline",
    ),
    path(
        "console/sharing/resources/<int:pk>/out-of-service",
        console_sharing.resource_out_of_service,
        name="console-sharing-out",
    ),
    path(
        "console/sharing/resources/<int:pk>/in-service",
        console_sharing.resource_in_service,
        name="console-sharing-in",
    ),
]

# A person's data for someone one is proxy for (docs/privacy.md).
urlpatterns += [
    path("profile/people/<int:pk>/export", profile.export, name="person-export"),
    path("profile/people/<int:pk>/erase", profile.erase, name="person-erase"),
    # Answering someone who asks for help (a proxy request).
    path("profile/people/<int:pk>/accept", profile.proxy_accept, name="proxy-accept"),
    path("profile/people/<int:pk>/decline", profile.proxy_decline, name="proxy-decline"),
]

# Associations for residents: finding one's own and asking to join it.
from webapp.views import associations  # noqa: E402

urlpatterns += [
    path("associations/", associations.association_list, name="associations"),
    path("associations/<int:pk>/join", associations.association_join, name="association-join"),
    path(
        "associations/memberships/<int:pk>/withdraw",
        associations.membership_withdraw_view,
        name="association-withdraw",
    ),
]
