"""The site's URLs and error handlers, plus a page and an API view with a bug in them:
for the tests of what a person sees when something fails that no view handled."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from backend.urls import handler400, handler404, handler500
from backend.urls import urlpatterns as site

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]


def page_with_a_bug(request):
    raise RuntimeError("a bug in a page")


class ApiWithABug(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request):
        raise RuntimeError("a bug in the API")


urlpatterns = [
    path("with-a-bug", page_with_a_bug),
    path("api/v1/with-a-bug", ApiWithABug.as_view()),
    *site,
]
