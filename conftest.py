"""Project-wide pytest fixtures."""

from __future__ import annotations

import pytest
from django.db import connection

from haven.audit import triggers
from haven.core.testing import Cast, make_cast


@pytest.fixture
def cast(db: None) -> Cast:
    return make_cast()


@pytest.fixture
def transactional_db(transactional_db: None) -> None:
    """Tests that commit for real (races, the browser) end with a flush of every table.

    The audit tables refuse DELETE and TRUNCATE, so the triggers are dropped for these tests.
    pytest-django runs all of them after the ordinary database tests, which keep the triggers.
    """
    triggers.remove(connection)
