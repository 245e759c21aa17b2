"""``haven serve``: the listening socket of several workers keeps Nagle's algorithm off."""

from __future__ import annotations

import asyncio
import socket

from haven.core.management.commands.serve import _Config


async def _nodelay_of_an_accepted_connection(listener: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
    try:
        return await asyncio.wait_for(accepted, 5)
    finally:
        writer.close()
        server.close()


def test_connections_accepted_for_several_workers_get_tcp_nodelay() -> None:
    # Without it every keep-alive request after the first waits ~40 ms for a delayed ACK.
    config = _Config("haven.asgi:application", host="127.0.0.1", port=0, workers=2)
    listener = config.bind_socket()
    try:
        assert listener.proto == socket.IPPROTO_TCP
        assert asyncio.run(_nodelay_of_an_accepted_connection(listener)) != 0
    finally:
        listener.close()
