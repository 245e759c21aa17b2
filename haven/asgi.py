import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven.settings")
application = get_asgi_application()

# Refuse to serve a production database that still holds demo accounts.
from haven.accounts.services import assert_safe_to_serve  # noqa: E402

assert_safe_to_serve()
