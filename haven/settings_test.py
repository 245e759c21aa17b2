"""Settings for the test suite: the production settings, with a throwaway data folder.

``HAVEN_TEST_DATABASE_URL`` (e.g. ``postgres://root@127.0.0.1:5432/haven_ci``) runs the suite on
PostgreSQL; without it the tests use SQLite.
"""

import os
import tempfile

os.environ.setdefault("HAVEN_DATA_DIR", tempfile.mkdtemp(prefix="haven-test-"))
if os.environ.get("HAVEN_TEST_DATABASE_URL"):
    os.environ["HAVEN_DATABASE_URL"] = os.environ["HAVEN_TEST_DATABASE_URL"]
else:
    os.environ["HAVEN_DATABASE_URL"] = f"sqlite:///{os.environ['HAVEN_DATA_DIR']}/test.sqlite3"

from haven.settings import *  # noqa: F403

TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
PASSWORD_HASHERS = ["haven.core.hashers.FastArgon2PasswordHasher"]
