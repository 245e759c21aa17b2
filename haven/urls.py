from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path

from haven.api import api, envelope


def api_not_found(request: HttpRequest, rest: str) -> JsonResponse:
    """Unknown paths under /api/ answer in the error envelope, not with an HTML page."""
    return JsonResponse(envelope("not_found", f"No API endpoint at /api/{rest}."), status=404)


urlpatterns = [
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", api_not_found),
    path("", include("haven.accounts.urls")),
    path("", include("haven.audit.urls")),
    path("", include("haven.home.urls")),
    path("", include("haven.patients.urls")),
    path("", include("haven.scheduling.urls")),
    path("", include("haven.screening.urls")),
    path("", include("haven.dosing.urls")),
    path("", include("haven.outcomes.urls")),
    path("", include("haven.inventory.urls")),
    path("", include("haven.trials.urls")),
    path("", include("haven.outcomes.portal_urls")),
    path("", include("haven.safety.urls")),
]
