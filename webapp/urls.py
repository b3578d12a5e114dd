from django.urls import path

from webapp.views import auth, driver, home, notifications, profile, pwa, rides

app_name = "webapp"
urlpatterns = [
    path("", home.home, name="home"),
    # Signing in and out, language
    path("sign-in", auth.sign_in, name="sign-in"),
    path("sign-in/code", auth.code_request, name="sign-in-code"),
    path("sign-in/code/verify", auth.code_verify, name="sign-in-code-verify"),
    path("sign-out", auth.sign_out, name="sign-out"),
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
    path("profile/", profile.profile, name="profile"),
    path("profile/export", profile.export, name="profile-export"),
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
    path("driver/km", driver.kilometres, name="driver-km"),
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
