import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven.settings")
application = get_wsgi_application()

from haven.accounts.services import assert_safe_to_serve  # noqa: E402

assert_safe_to_serve()
