"""A small HTTP/1.1 client on asyncio streams, for load on loopback. Standard library only.

The load generator shares the machine with the server it measures, so it must cost little: one
keep-alive connection per concurrent caller, requests written by hand, answers read by their
``Content-Length`` (or chunks). ``stream`` reads a Server-Sent Events answer event by event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class ServerEvent:
    """One Server-Sent Event and the moment (``time.perf_counter``) its last line arrived; ``event``
    is empty for a block of comments only (a greeting or a keep-alive)."""

    event: str
    data: str
    received: float


class ClientError(Exception):
    pass


def _head(method: str, host: str, port: int, path: str, headers: dict[str, str], length: int | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ClientError(f"not an HTTP answer: {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _read_chunk(reader: asyncio.StreamReader) -> bytes:
    """One chunk of a chunked body; empty at the end."""
    size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
    data = await reader.readexactly(size) if size else b""
    await reader.readuntil(b"\r\n")
    return data


# Servers close idle keep-alive connections (uvicorn after 5 s); one idle longer is opened afresh.
IDLE_SECONDS = 2.0


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.headers = headers or {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = 0.0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is not None and time.monotonic() - self._used > IDLE_SECONDS:
            await self.close()
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._used = time.monotonic()
        return self._reader, self._writer

    async def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        try:
            return await self._request(method, path, body, headers)
        finally:
            self._used = time.monotonic()

    async def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None
    ) -> Answer:
        reader, writer = await self._open()
        merged = self.headers | (headers or {})
        if body is not None:
            merged.setdefault("Content-Type", "application/json")
        writer.write(
            _head(method, self.host, self.port, path, merged, len(body) if body is not None else None)
        )
        if body:
            writer.write(body)
        await writer.drain()
        status, head = await _read_head(reader)
        if head.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while chunk := await _read_chunk(reader):
                parts.append(chunk)
            data = b"".join(parts)
        else:
            data = await reader.readexactly(int(head.get("content-length", "0")))
        if head.get("connection", "").lower() == "close":
            await self.close()
        return Answer(status, data)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def stream(
    host: str, port: int, path: str, headers: dict[str, str]
) -> tuple[int, AsyncIterator[ServerEvent] | None, asyncio.StreamWriter]:
    """Open a Server-Sent Events stream: the status and, for 200, its events as they arrive."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(_head("GET", host, port, path, {"Accept": "text/event-stream"} | headers, None))
    await writer.drain()
    status, head = await _read_head(reader)
    if status != 200:
        return status, None, writer
    chunked = head.get("transfer-encoding", "").lower() == "chunked"

    async def events() -> AsyncIterator[ServerEvent]:
        pending = ""
        while True:
            data = await _read_chunk(reader) if chunked else await reader.read(65536)
            if not data:
                return
            pending += data.decode("utf-8")
            arrived = time.perf_counter()
            while "\n\n" in pending:
                block, pending = pending.split("\n\n", 1)
                name, lines = "message", []
                for line in block.split("\n"):
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        lines.append(line[5:].lstrip())
                # A block of comments only (a greeting, a keep-alive) comes out with no name.
                yield ServerEvent(name if lines else "", "\n".join(lines), arrived)

    return status, events(), writer
