"""Live events across server processes: PostgreSQL LISTEN/NOTIFY (skipped on SQLite, where one web
process serves the board and the board's stream re-checks the database instead)."""

from __future__ import annotations

import json
import time
import uuid

import psycopg
import pytest
from django.db import connection, transaction

from haven.core import events


def _conninfo() -> dict[str, object]:
    settings = connection.settings_dict
    values = {
        "dbname": settings["NAME"],
        "user": settings.get("USER") or None,
        "password": settings.get("PASSWORD") or None,
        "host": settings.get("HOST") or None,
        "port": settings.get("PORT") or None,
    }
    return {k: v for k, v in values.items() if v is not None}


def _drain(subscription: events.Subscription, seconds: float) -> list[events.Event]:
    found, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        event = subscription.get(timeout=0.05)
        if event is not None:
            found.append(event)
    return found


def test_an_event_published_by_another_process_reaches_this_processs_board(transactional_db: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite serves the board from one process")
    site = str(uuid.uuid4())
    subscription = events.subscribe(site)
    try:
        message = {
            "origin": "another-process",
            "site": site,
            "kind": "alert",
            "at": "now",
            "data": {"alert": "a1"},
        }
        received: list[events.Event] = []
        with psycopg.connect(**_conninfo(), autocommit=True) as other:  # type: ignore[arg-type]
            # The listener thread may still be connecting: notify until it hears one (≤ 5 s).
            deadline = time.monotonic() + 5
            while not received and time.monotonic() < deadline:
                other.execute("SELECT pg_notify(%s, %s)", [events.CHANNEL, json.dumps(message)])
                received = _drain(subscription, 0.2)
        assert received, "no event arrived through LISTEN/NOTIFY"
        assert (received[0].kind, received[0].data) == ("alert", {"alert": "a1"})

        # This process's own events arrive once: directly after the commit, not again via NOTIFY.
        _drain(subscription, 0.3)
        with transaction.atomic():
            events.publish(site, "observation", session="s1")
        own = _drain(subscription, 0.5)
        assert [(e.kind, e.data) for e in own] == [("observation", {"session": "s1"})]
    finally:
        events.unsubscribe(subscription)
        events.stop_listener()  # its connection would keep the test database from being dropped
