"""Live events: "something changed in this session" delivered to open boards within a second.

A service calls ``publish(site_id, kind, **data)`` inside its transaction. Nothing is sent unless
the transaction commits: an event never announces a row that was rolled back.

- **In this process** (always): after the commit the event is handed to every subscriber of the
  site, sync or async, at once.
- **Across processes** (PostgreSQL): after the commit the event also goes out with ``NOTIFY
  haven_events``; each process runs one listener thread (``LISTEN``) that hands it to that
  process's own subscribers, skipping the events it published itself.
- **SQLite** has no cross-process channel. A single web process serves the board there; the
  board's stream also re-checks the database every few seconds (``fingerprint``), which is how
  alerts made by the separate ``haven monitor`` process reach it.

Events carry identifiers and a short message, never identity or clinical values beyond what the
board shows, and they are not a record: the database is. A lost event costs a refresh, not data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections, transaction

from haven.core.time import now

log = logging.getLogger(__name__)

CHANNEL = "haven_events"
# A random id per process, so the listener can skip what this process has already delivered.
_ORIGIN = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Event:
    site: str
    kind: str
    data: dict[str, Any]
    at: str

    def encode(self) -> str:
        """The event as one Server-Sent Events message."""
        payload = json.dumps({"kind": self.kind, "at": self.at, **self.data}, default=str)
        return f"event: {self.kind}\ndata: {payload}\n\n"


@dataclass(eq=False)
class Subscription:
    """One listener's inbox for one site: ``get`` blocks (threads), ``aget`` awaits (asyncio)."""

    site: str
    _queue: queue.SimpleQueue[Event] = field(default_factory=queue.SimpleQueue)
    _loop: asyncio.AbstractEventLoop | None = None
    _aqueue: asyncio.Queue[Event] | None = None

    def deliver(self, event: Event) -> None:
        if self._loop is not None and self._aqueue is not None:
            self._loop.call_soon_threadsafe(self._aqueue.put_nowait, event)
        else:
            self._queue.put(event)

    def get(self, timeout: float) -> Event | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    async def aget(self, timeout: float) -> Event | None:
        assert self._aqueue is not None, "subscribe with asynchronous=True"
        try:
            return await asyncio.wait_for(self._aqueue.get(), timeout)
        except TimeoutError:
            return None


_lock = threading.Lock()
_subscribers: dict[str, set[Subscription]] = {}
_listener: threading.Thread | None = None


def subscribe(site_id: uuid.UUID | str, *, asynchronous: bool = False) -> Subscription:
    site = str(site_id)
    subscription = Subscription(site=site)
    if asynchronous:
        subscription._loop = asyncio.get_running_loop()
        subscription._aqueue = asyncio.Queue()
    with _lock:
        _subscribers.setdefault(site, set()).add(subscription)
    if connection.vendor == "postgresql":
        _start_listener()
    return subscription


def unsubscribe(subscription: Subscription) -> None:
    with _lock:
        subscribers = _subscribers.get(subscription.site)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del _subscribers[subscription.site]


def subscriber_count(site_id: uuid.UUID | str) -> int:
    with _lock:
        return len(_subscribers.get(str(site_id), ()))


def _fan_out(event: Event) -> None:
    with _lock:
        targets = list(_subscribers.get(event.site, ()))
    for subscription in targets:
        subscription.deliver(event)


def publish(site_id: uuid.UUID | str, kind: str, **data: Any) -> None:
    """Announce a change at a site once the current transaction commits (at once outside one)."""
    event = Event(site=str(site_id), kind=kind, data=data, at=now().isoformat())
    transaction.on_commit(lambda: _send(event))


def _send(event: Event) -> None:
    _fan_out(event)
    if connection.vendor != "postgresql":
        return
    message = json.dumps(
        {"origin": _ORIGIN, "site": event.site, "kind": event.kind, "at": event.at, "data": event.data},
        default=str,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, message])
    except Exception:  # the change is committed; other processes' boards catch up by re-checking
        log.exception("could not NOTIFY the other server processes")


# PostgreSQL: one LISTEN thread per process -------------------------------------------------------
_stop = threading.Event()


def _start_listener() -> None:
    global _listener
    with _lock:
        if _listener is not None and _listener.is_alive():
            return
        _stop.clear()
        params = dict(connections["default"].settings_dict)
        _listener = threading.Thread(target=_listen, args=(params,), name="haven-events", daemon=True)
        _listener.start()


def stop_listener() -> None:
    """Close this process's LISTEN connection (tests; the thread is a daemon otherwise)."""
    global _listener
    _stop.set()
    if _listener is not None:
        _listener.join(timeout=5)
    _listener = None


def _listen(settings_dict: dict[str, Any]) -> None:
    import psycopg

    conninfo: dict[str, Any] = {
        "dbname": settings_dict["NAME"],
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
    }
    backoff = 0.5
    while not _stop.is_set():
        try:
            with psycopg.connect(
                **{k: v for k, v in conninfo.items() if v is not None}, autocommit=True
            ) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                backoff = 0.5
                while not _stop.is_set():
                    for notice in conn.notifies(timeout=1.0):
                        _receive(notice.payload)
        except Exception:
            log.exception("event listener lost its connection; reconnecting")
            _stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)


def _receive(payload: str) -> None:
    try:
        message = json.loads(payload)
    except ValueError:
        return
    if message.get("origin") == _ORIGIN:
        return
    _fan_out(Event(site=message["site"], kind=message["kind"], data=message["data"], at=message["at"]))
