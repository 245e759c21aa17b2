from django.conf import settings
from django.http import HttpRequest

from haven import __version__


def haven(request: HttpRequest) -> dict[str, object]:
    return {
        "haven_version": __version__,
        "haven_production": settings.PRODUCTION,
        "haven_idle_timeout_seconds": int(settings.HAVEN_IDLE_TIMEOUT.total_seconds()),
    }
