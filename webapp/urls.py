from django.urls import path

from webapp import views

app_name = "webapp"
urlpatterns = [
    path("", views.home, name="home"),
]
urlpatterns += [
    path("sw.js", views.service_worker, name="service-worker"),
]

# Shop runs: the driver's run sheet (printable, and on the phone).
from webapp import shuttle  # noqa: E402

urlpatterns += [
    path("shuttle/runs/<int:pk>/sheet", shuttle.run_sheet_page, name="shuttle-run-sheet"),
]
