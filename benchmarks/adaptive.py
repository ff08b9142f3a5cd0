"""Finding the tenant's limit: the adaptive throttle against a token-bucket API (issue #11).

    python -m benchmarks.adaptive [--quick] [--only NAME ...] [--no-botocore] [--out DIR]

The emulator runs in its own process: a token bucket of R requests/s per tenant, bucket 10,
2 ms latency + 0-10 ms jitter, 429 with or without ``Retry-After: 1``. Each client runs in
its own process, 32 in flight, and samples its throttle four times a second. Scenarios:
R = 50, 200 and 1,000/s with no rate given and with ``rate=0.95 R``; the limit halving and
doubling mid-run; 4 client processes on one tenant with no shared throttle. Each prints
achieved/R, the 429 share and, for a changing limit, the time to settle; the goals of the
issue are checked on the figures (``met``). With botocore installed (``pip install
botocore``), the same client with botocore's adaptive retry rate limiter (its
``ClientRateLimiter``, ``CubicCalculator`` and ``TokenBucket``, unchanged, behind this
library's ``Throttle`` protocol) runs the no-rate scenarios side by side.

A full run writes ``adaptive.json``, ``adaptive.md`` and ``adaptive.png`` (with matplotlib)
to ``benchmarks/results/``. ``--quick`` runs small workloads and checks behaviour only
(every record accounted for, every client finished): exit 1 otherwise, never on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import itertools
import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from webex_campaign_async.emulator import EmulatorProcess, Faults

from .harness import machine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CONCURRENCY = 32
BUCKET = 10.0
SAMPLE = 0.25


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One run: the API's limit ``R`` (and its ``changes``: seconds -> new limit), its
    ``Retry-After``, the rate given to the client (a share of R, or None), the seconds of
    work (``R x seconds`` records, split among ``processes``; with ``budget`` the processes
    start records for that many seconds instead, and are rated on what they applied in that
    window), and which clients run it."""

    name: str
    title: str
    limit: float
    seconds: float
    retry_after: float | None = None
    rate_share: float | None = None
    changes: tuple[tuple[float, float], ...] = ()
    processes: int = 1
    budget: float | None = None
    clients: tuple[str, ...] = ("library",)

    def limit_at(self, t: float) -> float:
        """The API's limit ``t`` seconds into the run."""
        limit = self.limit
        for at, new in self.changes:
            if t >= at:
                limit = new
        return limit

    def ideal(self, seconds: float) -> float:
        """Records a client exactly at the limit applies in ``seconds`` (the bucket aside)."""
        edges = [0.0, *(at for at, _ in self.changes if at < seconds), seconds]
        return sum((b - a) * self.limit_at(a) for a, b in itertools.pairwise(edges))


def scenarios(quick: bool = False) -> list[Scenario]:
    """The issue's scenarios (full), or a smoke-sized set (quick)."""
    both = ("library", "botocore")
    if quick:
        return [
            Scenario("quick-find", "no rate, 200/s", 200, 3, clients=both),
            Scenario("quick-retry-after", "no rate, Retry-After, 200/s", 200, 3, retry_after=1),
            Scenario("quick-ceiling", "rate=0.95 R, 200/s", 200, 3, rate_share=0.95),
            Scenario("quick-halves", "no rate, 200/s halving", 200, 3, changes=((1.5, 100),)),
            Scenario("quick-4-processes", "4 processes", 200, 3, processes=4, budget=2),
        ]
    found = []
    for r, seconds in ((50, 40), (200, 20), (1000, 15)):
        n = f"{r:g}"
        found += [
            Scenario(f"find-{n}", f"no rate, 429 only, {n}/s", r, seconds, clients=both),
            Scenario(
                f"find-{n}-retry-after",
                f"no rate, Retry-After: 1, {n}/s",
                r,
                seconds,
                retry_after=1,
                clients=both if r == 200 else ("library",),
            ),
            Scenario(f"ceiling-{n}", f"rate=0.95 R, 429 only, {n}/s", r, 15, rate_share=0.95),
            Scenario(
                f"ceiling-{n}-retry-after",
                f"rate=0.95 R, Retry-After: 1, {n}/s",
                r,
                15,
                retry_after=1,
                rate_share=0.95,
            ),
        ]
    found += [
        Scenario(
            "halves-200",
            "no rate, 200/s halving to 100/s at 8 s",
            200,
            20,
            changes=((8.0, 100.0),),
            clients=both,
        ),
        Scenario(
            "doubles-200",
            "no rate, 200/s doubling to 400/s at 8 s",
            200,
            22,
            changes=((8.0, 400.0),),
            clients=both,
        ),
        Scenario(
            "4-processes-200",
            "4 processes, no rate, no shared throttle, Retry-After: 1, 200/s",
            200,
            20,
            retry_after=1,
            processes=4,
            budget=20,
            clients=both,
        ),
    ]
    return found


# --- the client process ----------------------------------------------------------------------


class BotocoreThrottle:
    """botocore's adaptive retry rate limiter behind this library's `Throttle` protocol.

    botocore's own objects do the work (`ClientRateLimiter.on_receiving_response` with its
    `RateClocker`, `CubicCalculator` and `TokenBucket`); only the blocking wait of its
    ``on_sending_request`` is replaced by an asyncio sleep for the same capacity.
    """

    def __init__(self) -> None:
        from botocore.retries import adaptive, bucket, throttling

        clock = bucket.Clock()
        self._bucket = bucket.TokenBucket(max_rate=1, clock=clock)
        self._limiter = adaptive.ClientRateLimiter(
            rate_adjustor=throttling.CubicCalculator(
                starting_max_rate=0, start_time=clock.current_time()
            ),
            rate_clocker=adaptive.RateClocker(clock),
            token_bucket=self._bucket,
            throttling_detector=self,
            clock=clock,
        )
        self.rate_changes = 0
        self.learned_rate: float | None = None  # botocore keeps no such figure

    @staticmethod
    def is_throttling_error(**kwargs: Any) -> bool:
        return bool(kwargs["throttled"])

    @property
    def rate(self) -> float | None:
        return float(self._bucket.max_rate) if self._limiter._enabled else None

    def ready(self) -> bool:
        return False

    def try_acquire(self) -> float | None:
        return None if self._limiter._enabled else time.monotonic()

    async def acquire(self) -> float:
        from botocore.exceptions import CapacityNotAvailableError

        while self._limiter._enabled:
            try:
                self._bucket.acquire(block=False)
                break
            except CapacityNotAvailableError:
                missing = 1 - self._bucket.available_capacity
                await asyncio.sleep(max(missing, 0.0) / self._bucket.max_rate)
        return time.monotonic()

    def succeeded(self, sent_at: float) -> None:
        self._limiter.on_receiving_response(throttled=False)

    def throttled(self, sent_at: float, retry_after: float | None) -> bool:
        self._limiter.on_receiving_response(throttled=True)
        self.rate_changes += 1
        return False

    def set_rate(self, rate: float | None) -> None:
        raise NotImplementedError


async def _client_run(spec: dict[str, Any], transport: Any = None) -> dict[str, Any]:
    """One client's run as ``spec`` says (``transport``: an in-process one, for tests)."""
    from webex_campaign_async import (
        AdaptiveThrottle,
        CampaignClient,
        ProfileUpsert,
        RateLimit,
        RetryPolicy,
    )

    from ._fake import profiles

    deadline = time.monotonic() + spec["budget"] if spec["budget"] else None
    attributes = next(iter(profiles(1))).attributes
    prefix = spec["prefix"]

    def records() -> Any:
        for i in range(spec["records"]):
            if deadline is not None and time.monotonic() >= deadline:
                return
            yield ProfileUpsert("bench", key=f"{prefix}-{i}", attributes=attributes)

    throttle: Any
    if spec["client"] == "botocore":
        throttle = BotocoreThrottle()
    else:
        throttle = AdaptiveThrottle(RateLimit(spec["rate"]))
    applied = 0

    def count(result: Any) -> None:
        nonlocal applied
        applied += result.ok

    client = CampaignClient(
        spec["base_url"],
        api_key=spec["api_key"],
        throttle=throttle,
        max_concurrency=CONCURRENCY,
        retry=RetryPolicy(attempts=5),
        transport=transport,
    )
    samples: list[list[Any]] = []
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def sample() -> None:
        while True:
            samples.append(
                [
                    round(loop.time() - start, 3),
                    throttle.rate,
                    applied,
                    client.throttled,
                    getattr(throttle, "learned_rate", None),
                ]
            )
            await asyncio.sleep(SAMPLE)

    sampler = asyncio.ensure_future(sample())
    async with client:
        report = await client.bulk_upsert(records(), on_result=count)
    wall = loop.time() - start
    sampler.cancel()
    samples.append([round(wall, 3), throttle.rate, applied, client.throttled, None])
    return {
        "seconds": wall,
        "total": report.total,
        "applied": report.applied,
        "requests": report.requests,
        "throttled": report.throttled,
        "counts": {status.name: n for status, n in report.counts.items()},
        "pauses": getattr(throttle, "pauses", 0),
        "decreases": getattr(throttle, "decreases", None),
        "learned_rate": getattr(throttle, "learned_rate", None),
        "samples": samples,
    }


def _child(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    print("ready", flush=True)
    sys.stdin.readline()  # go
    print(json.dumps(asyncio.run(_client_run(spec))), flush=True)
    return 0


# --- the parent -------------------------------------------------------------------------------


def run(scenario: Scenario, client: str) -> dict[str, Any]:
    """One client on one scenario; figures, samples and the goals checked."""
    faults = Faults(seed=11, latency=0.002, jitter=0.010)
    per_process = math.ceil(scenario.limit * scenario.seconds / scenario.processes)
    if scenario.budget is not None:
        per_process = 10**7  # until the budget
    with EmulatorProcess(
        rate=scenario.limit,
        burst=BUCKET,
        retry_after=scenario.retry_after,
        faults=faults,
        track_keys=False,
    ) as server:
        children = []
        for k in range(scenario.processes):
            spec = {
                "client": client,
                "base_url": server.base_url,
                "api_key": server.api_key,
                "records": per_process,
                "budget": scenario.budget,
                "rate": scenario.limit * scenario.rate_share if scenario.rate_share else None,
                "prefix": f"p{k}",
            }
            child = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.adaptive", "--child", json.dumps(spec)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError(f"{scenario.name}: a {client} client did not start")
            children.append(child)
        server.reset()
        started = time.monotonic()
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        timers = [threading.Timer(at, server.set_rate, (new,)) for at, new in scenario.changes]
        try:  # a crashed client must not leave them firing at a closed emulator
            for timer in timers:
                timer.start()
            outs = []
            for child in children:
                out, _ = child.communicate(timeout=scenario.seconds * 6 + 60)
                lines = out.strip().splitlines()
                if child.returncode or not lines:
                    raise RuntimeError(f"a {client} client failed (exit {child.returncode})")
                outs.append(json.loads(lines[-1]))
        finally:
            for timer in timers:
                timer.cancel()
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
        wall = time.monotonic() - started
        stats = server.stats()
    return _figures(scenario, client, outs, wall, stats)


def _applied_at(samples: list[list[Any]], t: float) -> float:
    """Records applied ``t`` seconds into the run (interpolated between samples)."""
    for (t0, _, a0, *_r0), (t1, _, a1, *_r1) in itertools.pairwise(samples):
        if t0 <= t <= t1:
            return float(a0 + (a1 - a0) * (t - t0) / (t1 - t0)) if t1 > t0 else float(a1)
    return float(samples[-1][2])


def _rate_series(samples: list[list[Any]], window: float = 1.0) -> list[tuple[float, float]]:
    """(time, records applied per second over the last ``window``) at every sample."""
    out = []
    for i, (t, _, applied, *_rest) in enumerate(samples):
        j = i
        while j > 0 and t - samples[j - 1][0] <= window + 1e-6:
            j -= 1
        if t - samples[j][0] > 0:
            out.append((t, (applied - samples[j][2]) / (t - samples[j][0])))
    return out


def _figures(
    scenario: Scenario, client: str, outs: list[dict[str, Any]], wall: float, stats: dict[str, Any]
) -> dict[str, Any]:
    seconds = max(o["seconds"] for o in outs)
    applied = sum(o["applied"] for o in outs)
    if scenario.budget is not None:  # processes that send for a while: what they did meanwhile
        seconds = scenario.budget
        applied = sum(_applied_at(o["samples"], seconds) for o in outs)
    requests = stats["requests"]
    throttled = stats["throttled"]
    row: dict[str, Any] = {
        "scenario": scenario.name,
        "client": client,
        "seconds": round(seconds, 2),
        "records": sum(o["total"] for o in outs),
        "applied": sum(o["applied"] for o in outs),
        "applied_in_window": applied,
        "accounted": all(sum(o["counts"].values()) == o["total"] for o in outs),
        "requests": requests,
        "throttled": throttled,
        "throttled_share": throttled / requests if requests else 0.0,
        "achieved_per_second": applied / seconds,
        "achieved_over_limit": applied / seconds / scenario.limit,
        "achieved_over_ideal": applied / scenario.ideal(seconds),
        "processes": [
            {
                k: o[k]
                for k in ("applied", "seconds", "throttled", "pauses", "decreases", "learned_rate")
            }
            for o in outs
        ],
        "samples": [o["samples"] for o in outs],
    }
    if scenario.rate_share is not None:  # 429s after the first second, from the client's side
        row["throttled_after_1s"] = sum(
            o["samples"][-1][3] - next((s[3] for s in o["samples"] if s[0] >= 1.0), 0) for o in outs
        )
    if scenario.changes:
        at, new = scenario.changes[0]
        samples = outs[0]["samples"]
        if new < scenario.limit:  # time until the client's rate is at or below the new limit
            below = next(
                (s[0] for s in samples if s[0] >= at and s[1] is not None and s[1] <= new), None
            )
            row["settled_after"] = None if below is None else round(below - at, 2)
        else:  # time until 0.9 of the new limit is applied over a second
            reached = next(
                (t for t, r in _rate_series(samples) if t >= at and r >= 0.9 * new), None
            )
            row["settled_after"] = None if reached is None else round(reached - at, 2)
    row["goals"] = list(_goals(scenario, row))
    return row


def _goals(scenario: Scenario, row: dict[str, Any]) -> Any:
    """(goal, measured, met) of the issue, for this scenario."""
    share = row["throttled_share"]
    over_r, over_ideal = row["achieved_over_limit"], row["achieved_over_ideal"]
    if scenario.processes > 1:
        yield ("aggregate >= 0.8 R", f"{over_r:.2f} R", over_r >= 0.8)
        return
    if scenario.changes:
        new = scenario.changes[0][1]
        settled = row.get("settled_after")
        if new < scenario.limit:
            in_time = settled is not None and settled <= 3
            yield ("at or below the new limit within 3 s", f"{settled} s", in_time)
            yield ("over the run >= 0.85 of the ideal", f"{over_ideal:.2f}", over_ideal >= 0.85)
        else:
            in_time = settled is not None and settled <= 10
            yield ("0.9 of the new limit within 10 s", f"{settled} s", in_time)
        return
    if scenario.rate_share is not None:
        after = row["throttled_after_1s"]
        yield (">= 0.9 R", f"{over_r:.2f} R", over_r >= 0.9)
        yield ("0 429s after the first second", f"{after}", after == 0)
        return
    floor = 0.85 if scenario.retry_after else 0.9
    yield (f">= {floor} R", f"{over_r:.2f} R", over_r >= floor)
    yield ("429s <= 2 %", f"{share:.1%}", share <= 0.02)


# --- report ---------------------------------------------------------------------------------


def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    lines = [
        "# Finding the tenant's limit (`python -m benchmarks.adaptive`)",
        "",
        f"`{doc['command']}`: {doc['runtime_seconds']:.0f} s on {m['cpu']}, "
        f"{m['logical_cores']} cores, {m['python']}, {doc['generated']}"
        + (f", commit {m['commit']}" if m.get("commit") else ""),
        "",
        "| scenario | client | achieved | 429s | settle | goal: measured, met |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    titles = {s["name"]: s["title"] for s in doc["scenarios"]}
    for r in doc["results"]:
        settle = r.get("settled_after")
        goals = "; ".join(f"{g}: {v}, {'met' if ok else '**not met**'}" for g, v, ok in r["goals"])
        lines.append(
            f"| {titles[r['scenario']]} | {r['client']} | {r['achieved_per_second']:,.0f}/s "
            f"({r['achieved_over_limit']:.2f} R) | {r['throttled']:,} ({r['throttled_share']:.1%})"
            f" | {'' if settle is None else f'{settle} s'} | {goals} |"
        )
    return "\n".join(lines) + "\n"


def chart(path: Path, doc: dict[str, Any]) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart skipped: matplotlib is not installed"
    shown = [s for s in doc["scenarios"] if any(r["scenario"] == s["name"] for r in doc["results"])]
    cols = 3
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3 * rows), dpi=100, squeeze=False)
    colors = {"library": "tab:blue", "botocore": "tab:orange"}
    for ax, s in zip(axes.flat, shown, strict=False):
        sc = Scenario(**{**s, "changes": tuple(tuple(c) for c in s["changes"]), "clients": ()})
        for r in (r for r in doc["results"] if r["scenario"] == s["name"]):
            color = colors.get(r["client"], "tab:gray")
            for k, samples in enumerate(r["samples"]):
                label = r["client"] if k == 0 else None
                series = _rate_series(samples)
                xs, ys = [t for t, _ in series], [v for _, v in series]
                ax.plot(xs, ys, color=color, lw=1, label=label)
                rates = [(sm[0], sm[1]) for sm in samples if sm[1] is not None]
                ax.plot([t for t, _ in rates], [v for _, v in rates], color=color, lw=0.7, ls=":")
        end = max(r["seconds"] for r in doc["results"] if r["scenario"] == s["name"])
        ts = [i * end / 200 for i in range(201)]
        ax.plot(ts, [sc.limit_at(t) / max(1, sc.processes) for t in ts], color="k", lw=0.8, ls="--")
        ax.set_title(s["title"], fontsize=8)
        ax.set_ylim(0, sc.limit * max([2.2, *(n / sc.limit * 1.3 for _, n in sc.changes)]))
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="lower right")
    for ax in list(axes.flat)[len(shown) :]:
        ax.axis("off")
    fig.suptitle(
        "records applied/s over the last second (solid), the throttle's rate (dotted), the API's "
        "limit per process (dashed)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return f"chart written to {path}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks.adaptive")
    parser.add_argument("--quick", action="store_true", help="small workloads: a smoke check")
    parser.add_argument("--only", nargs="+", help="scenario names")
    parser.add_argument("--no-botocore", action="store_true", help="skip botocore's limiter")
    parser.add_argument("--out", type=Path, help=f"where to write results (full: {RESULTS})")
    args = parser.parse_args(argv)
    out: Path | None = args.out or (None if args.quick else RESULTS)
    try:
        import botocore  # noqa: F401
    except ImportError:
        botocore_there = False
    else:
        botocore_there = not args.no_botocore
    chosen = [s for s in scenarios(args.quick) if not args.only or s.name in args.only]
    started = time.perf_counter()
    results, problems = [], []
    for scenario in chosen:
        for client in scenario.clients:
            if client == "botocore" and not botocore_there:
                continue
            try:
                row = run(scenario, client)
            except Exception as exc:  # a crashed or hung client is a failed check
                problems.append(f"{scenario.name} / {client}: {type(exc).__name__}: {exc}")
                continue
            if args.quick:  # too short for the goals: behaviour only
                row["goals"] = []
            results.append(row)
            if not row["accounted"]:
                problems.append(f"{scenario.name} / {client}: the counts do not add up")
            if (
                scenario.budget is None
                and row["records"]
                != math.ceil(scenario.limit * scenario.seconds / scenario.processes)
                * scenario.processes
            ):
                problems.append(f"{scenario.name} / {client}: not every record was run")
            goals = ", ".join(
                f"{goal}: {value} ({'met' if ok else 'NOT met'})"
                for goal, value, ok in row["goals"]
            )
            print(
                f"[{scenario.name}] {client}: {row['achieved_per_second']:,.0f}/s "
                f"({row['achieved_over_limit']:.2f} R), {row['throttled']} 429s "
                f"({row['throttled_share']:.1%}) in {row['seconds']:.1f} s; {goals}",
                file=sys.stderr,
                flush=True,
            )
    doc = {
        "command": " ".join(["python -m benchmarks.adaptive", *argv]),
        "mode": "quick" if args.quick else "full",
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "runtime_seconds": time.perf_counter() - started,
        "machine": machine.describe(ROOT),
        "scenarios": [dataclasses.asdict(s) for s in chosen],
        "results": results,
        "problems": problems,
    }
    text = markdown(doc)
    print(text)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "adaptive.json").write_text(json.dumps(doc, indent=1) + "\n")
        (out / "adaptive.md").write_text(text)
        print(chart(out / "adaptive.png", doc), file=sys.stderr)
    for problem in problems:
        print(f"CHECK FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
