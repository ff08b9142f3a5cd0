"""The aiohttp transport over a real loopback socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from webex_campaign_async._transport import READ_SIZE, AiohttpTransport

LARGE = b"x" * (3 * READ_SIZE + 123)  # several reads' worth


@pytest.fixture
async def server() -> AsyncIterator[URL]:
    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        payload = LARGE if body == b"large" else b'{"update-count": 1}'
        return web.Response(body=payload, content_type="application/json")

    app = web.Application()
    app.router.add_post("/upsert", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield URL(f"http://{host}:{port}/upsert")
    await runner.cleanup()


def _read_sizes(transport: AiohttpTransport) -> list[int]:
    connector = transport._session.connector
    assert connector is not None
    conns = connector._conns  # (idle keep-alive connections, by host)
    return [proto.transport.max_size for entries in conns.values() for proto, _ in entries]  # type: ignore[union-attr]


async def test_plain_tcp_connections_read_at_most_read_size(server: URL) -> None:
    transport = AiohttpTransport(max_connections=4)
    try:
        answers = await asyncio.gather(*(transport.send(server, {}, b"{}", 5.0) for _ in range(4)))
        assert {a.status for a in answers} == {200}
        sizes = _read_sizes(transport)
        assert sizes
        assert set(sizes) == {READ_SIZE}
        large = await transport.send(server, {}, b"large", 5.0)
        assert large.body == LARGE  # a body larger than one read arrives whole
    finally:
        await transport.aclose()


async def test_a_borrowed_session_is_left_as_it_is(server: URL) -> None:
    async with aiohttp.ClientSession() as session:
        transport = AiohttpTransport(session=session)
        answer = await transport.send(server, {}, b"{}", 5.0)
        assert answer.status == 200
        assert min(_read_sizes(transport)) > READ_SIZE  # asyncio's own (256 KiB)
        await transport.aclose()
        assert not session.closed


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 ABC Token key-123\r\n\r\n",  # a bad status line
        b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",  # a bad header
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # a bad chunk
    ],
)
async def test_a_malformed_answer_is_one_line_without_a_status_it_never_had(
    answer: bytes,
) -> None:
    from webex_campaign_async import TransportError

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(reply, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = AiohttpTransport()
    try:
        with pytest.raises(TransportError) as info:
            await transport.send(f"http://127.0.0.1:{port}/x", {}, b"{}", 5.0)
    finally:
        await transport.aclose()
        server.close()
        await server.wait_closed()
    message = str(info.value)
    assert "\n" not in message
    assert "HTTP 400" not in message  # aiohttp's own status for what it could not parse
    assert len(message) <= 300
