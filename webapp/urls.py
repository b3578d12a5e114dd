from django.urls import include, path

from webapp import views

app_name = "webapp"
urlpatterns = [
    path("", views.home, name="home"),
    path("stats/", include("webapp.stats.urls")),
]
urlpatterns += [
    path("sw.js", views.service_worker, name="service-worker"),
]
