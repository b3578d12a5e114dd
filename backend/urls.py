from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from mobile_api.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("mobile_api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("webapp.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Unmatched /api/ addresses, requests Django refuses before any view, and errors no view
# handled answer in the API's JSON error shape; pages get a page (webapp/templates/4xx.html,
# 500.html, 503.html). mobile_api/errors.py.
handler404 = "mobile_api.errors.not_found"
handler400 = "mobile_api.errors.bad_request"
handler500 = "mobile_api.errors.server_error"
