"""An independent token-bucket API (none of the emulator's code), to check the adaptive
throttle against a server written from the vendor page alone.

    python -m benchmarks.tokenbucket [--rate 200] [--retry-after 1] [--records 3000] [--runs 3]
    python -m benchmarks.tokenbucket --serve PORT [--rate 200] [--retry-after 1]

The server: one token bucket of ``--rate`` requests/s holding 10; an upsert that finds it
empty gets a 429 at once (with ``Retry-After`` if given), any other 200
``{"update-count": 1}`` after 2 ms + 0-10 ms. Without ``--serve``, each run starts a fresh
server process and sends ``--records`` records through a `CampaignClient` with no rate and
32 in flight, then prints the records applied per second (over the client's wall time) and
the server's count of 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from typing import Any

BUCKET = 10.0
PATH = "/campaignapi/resources/v3/profiles/update"


def serve(port: int, rate: float, retry_after: str | None) -> None:
    from aiohttp import web

    state: dict[str, Any] = {"tokens": BUCKET, "t": time.monotonic(), "requests": 0, "throttled": 0}

    async def upsert(request: web.Request) -> web.Response:
        await request.read()
        now = time.monotonic()
        state["tokens"] = min(BUCKET, state["tokens"] + (now - state["t"]) * rate)
        state["t"] = now
        state["requests"] += 1
        if state["tokens"] < 1.0:
            state["throttled"] += 1
            return web.json_response(
                {"code": 429, "description": "Too many requests. Throttle limit reached."},
                status=429,
                headers={"Retry-After": retry_after} if retry_after else {},
            )
        state["tokens"] -= 1.0
        await asyncio.sleep(0.002 + random.random() * 0.010)
        return web.json_response({"update-count": 1, "transaction-id": str(uuid.uuid4())})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(state)

    app = web.Application()
    app.router.add_post(PATH, upsert)
    app.router.add_get("/_stats", stats)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def _client(base_url: str, records: int) -> dict[str, Any]:
    from webex_campaign_async import CampaignClient, ProfileUpsert

    items = (
        ProfileUpsert("bench", key=f"k{i}", attributes={"firstname": "n"}) for i in range(records)
    )
    async with CampaignClient(base_url, api_key="k", max_concurrency=32) as client:
        started = time.monotonic()
        report = await client.bulk_upsert(items)
        wall = time.monotonic() - started
    return {"applied": report.applied, "wall": wall, "learned_rate": report.learned_rate}


def one_run(rate: float, retry_after: str | None, records: int) -> dict[str, Any]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [
        sys.executable,
        "-m",
        "benchmarks.tokenbucket",
        "--serve",
        str(port),
        "--rate",
        str(rate),
    ]
    server = subprocess.Popen([*argv, "--retry-after", retry_after or "none"])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/_stats", timeout=1).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.05)
        out = asyncio.run(_client(base, records))
        with urllib.request.urlopen(f"{base}/_stats", timeout=5) as answer:  # noqa: S310
            stats = json.loads(answer.read())
    finally:
        server.terminate()
        server.wait()
    out.update(requests=stats["requests"], throttled=stats["throttled"])
    out["achieved_over_limit"] = out["applied"] / out["wall"] / rate
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tokenbucket")
    parser.add_argument("--serve", type=int, metavar="PORT", help="only serve on PORT")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--retry-after", default="1", help="seconds, or 'none' for no header")
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    retry_after = None if args.retry_after == "none" else args.retry_after
    if args.serve:
        serve(args.serve, args.rate, retry_after)
        return 0
    for k in range(args.runs):
        out = one_run(args.rate, retry_after, args.records)
        share = out["throttled"] / out["requests"]
        print(
            f"run {k + 1}: {out['applied'] / out['wall']:.0f}/s applied "
            f"({out['achieved_over_limit']:.2f} R), {out['throttled']} 429s ({share:.1%}), "
            f"limit learned {out['learned_rate'] and round(out['learned_rate'])}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
