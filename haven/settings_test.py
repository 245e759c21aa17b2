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
from haven.settings import DATABASES

TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
PASSWORD_HASHERS = ["haven.core.hashers.FastArgon2PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not Django's shared-cache in-memory default: concurrency tests then see real SQLite
    # locking (WAL, IMMEDIATE, busy timeout) exactly as an embedded install does.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(os.environ["HAVEN_DATA_DIR"], "test-db.sqlite3")}
