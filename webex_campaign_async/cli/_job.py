"""One upsert job from a file: the input (less what a resumed journal ended) through one
client, every result into the journal, the failures file and the progress display."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import attrs

from .. import (
    DEFAULT_UPSERT_PATH,
    FAILURE_STATUSES,
    AiohttpTransport,
    BulkReport,
    BulkRun,
    CampaignClient,
    ProfileUpsert,
    RateLimit,
    RecordResult,
    RecordStatus,
    RetryPolicy,
    Throttle,
)
from .._files import FailuresWriter, open_private
from .._order import Replay
from .._outputs import to_failures
from ._input import estimate_total, read_records
from ._journal import Journal, JournalIndex, record_hash
from ._options import EXIT_ABORTED, EXIT_NOT_ALL_APPLIED, EXIT_OK, JobOptions, UsageError
from ._pipes import in_thread, may_block
from ._progress import Progress, Snapshot, make_progress
from ._signals import Interrupts, graceful_signals
from ._summary import SHOWN_PROBLEMS, Tally, one_line, summarize, write_report

if TYPE_CHECKING:
    from ..redis import RedisThrottle

__all__ = ["Job", "run_job"]


class Job:
    """The bookkeeping of one job around its `BulkRun`: journal, failures file, tally.

    `records` yields the input's records, skipping those the resumed journal ended (unless
    an earlier record of their profile is sent again: then they go after it, in input order);
    `on_result` journals each result (after its failures line: a killed job loses neither).
    """

    def __init__(self, options: JobOptions, client: CampaignClient, err: IO[str]) -> None:
        self.options = options
        self.client = client
        self.tally = Tally()
        self.index = (
            JournalIndex.load(options.journal) if options.resume and options.journal else None
        )
        if self.index is not None and len(self.index):
            print(f"resuming: the journal ended {len(self.index):,} records already", file=err)
        if self.index is not None and self.index.unreadable:
            print(
                f"resuming: {self.index.unreadable:,} unreadable journal line(s) ignored", file=err
            )
        self._source = read_records(options)  # InputError now, before any file is written
        self._lines: dict[int, tuple[int, int]] = {}  # run index -> (input line, record hash)
        self.journal: Journal | None = None
        self.failures: FailuresWriter | None = None
        self._replay = Replay() if options.ordered else None  # for the failures file

    def open_files(self) -> None:
        """The journal (a new one, or the resumed one extended) and the failures file."""
        options, index = self.options, self.index
        if options.failures and index is not None:
            self.tally.kept = keep_ended_failures(options.failures, index, self.options.ordered)
        if options.journal:
            self.journal = Journal(options.journal, append=options.resume)
        if options.failures:
            self.failures = FailuresWriter(options.failures, append=index is not None)

    def close_files(self) -> None:
        for file in (self.journal, self.failures):
            if file is not None:
                file.close()

    def records(self) -> Iterator[Any]:
        position = 0
        index, tally, lines = self.index, self.tally, self._lines
        resent = Replay() if self.options.ordered else None  # the profiles sent again
        for line, item in self._source:
            tally.last_line = line
            digest = record_hash(item)
            if index is not None and line <= index.last:
                profile = _profile(item)
                if index.ended(line, digest):
                    if not (resent and profile and resent.follows(*profile)):
                        tally.resumed += 1
                        tally.resumed_unapplied += not index.applied(line)
                        continue
                    tally.resent += 1  # after an earlier record of its profile sent again
                if resent is not None and profile is not None:
                    resent.mark(*profile)
            lines[position] = (line, digest)
            position += 1
            yield item

    def on_result(self, result: RecordResult) -> None:
        line, digest = self._lines.pop(result.index)
        status = result.status
        if self.failures is not None:  # in the OS before the journal line
            written = to_failures(self.failures, self._replay, result, {"_line": line})
            self.tally.replayed += written and status not in FAILURE_STATUSES
        if self.journal is not None:
            self.journal.write(line, digest, result)
        tally = self.tally
        tally.done += 1
        tally.counts[status] += 1
        if status is RecordStatus.APPLIED:
            return
        if status in FAILURE_STATUSES and self.failures is not None:
            tally.rerun += 1
        if len(tally.problems) < SHOWN_PROBLEMS and status is not RecordStatus.SKIPPED:
            message = one_line(result.message).removeprefix(f"line {line}: ")
            tally.problems.append(f"line {line}: {status.value}: {message}")

    def snapshot(self, total: int | None) -> Snapshot:
        tally = self.tally
        client = self.client
        return Snapshot(
            tally.done + tally.resumed,
            total,
            tally.counts.copy(),
            client.rate,
            client.learned_rate,
            client.connection_failures,
        )

    async def run(
        self, progress: Progress | None, total: int | None, interrupts: Interrupts
    ) -> BulkReport:
        """Run the job's `BulkRun` to its end (or to a signal's) and return its report."""
        options = self.options
        records = self.records()
        # A pipe may wait for its writer, and a resumed journal may skip a long head of the
        # input in one pull: either is read in a thread, never holding up the loop
        threaded = may_block(options.input) or bool(self.index)
        run = self.client.stream_upsert(
            in_thread(records) if threaded else records,
            on_result=self.on_result,
            deadline=options.deadline,
            ordered=options.ordered,
        )
        consumer = asyncio.ensure_future(_complete(run))
        ticker = asyncio.ensure_future(self._tick(progress, total)) if progress else None
        interrupts.attach(run, consumer)
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
        finally:
            if ticker is not None:
                ticker.cancel()
        return run.report()

    async def _tick(self, progress: Progress, total: int | None) -> None:
        while True:
            await asyncio.sleep(0.2)
            progress.show(self.snapshot(total))


async def _complete(run: BulkRun) -> None:
    async with run:  # results reach the journal and the files through on_result
        await run.complete()


def tls_context(ca_file: str | None) -> ssl.SSLContext | None:
    """The system's CAs plus those of ``ca_file`` (None: the default context)."""
    if ca_file is None:
        return None
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"--ca-file {ca_file!r}: cannot load CA certificates ({exc})") from None
    return context


def shared_throttle(options: JobOptions, base_url: str, api_key: str) -> RedisThrottle | None:
    """The throttle every worker of the tenant shares through Redis (``--redis-url``)."""
    if not options.redis_url:
        return None
    try:
        from ..redis import RedisThrottle
    except ImportError as exc:
        raise UsageError(f"--redis-url: {exc}") from None
    rate = RateLimit(options.rate, burst=options.burst) if options.rate is not None else None
    return RedisThrottle.for_tenant(options.redis_url, base_url, api_key, rate=rate)


def make_client(
    options: JobOptions, base_url: str, api_key: str, throttle: Throttle | None = None
) -> CampaignClient:
    """The client of a job (a base URL it refuses raises here, before any file is written)."""
    rate = RateLimit(options.rate, burst=options.burst) if options.rate is not None else None
    transport = AiohttpTransport(
        max_connections=options.concurrency,
        ssl_context=tls_context(options.ca_file),
        trust_env=options.trust_env,
    )
    return CampaignClient(
        base_url,
        api_key=api_key,
        rate=rate if throttle is None else None,
        throttle=throttle,
        max_concurrency=options.concurrency,
        retry=RetryPolicy(attempts=options.attempts),
        timeout=options.timeout,
        allow_insecure_http=options.allow_insecure_http,
        upsert_path=options.upsert_path or DEFAULT_UPSERT_PATH,
        transport=transport,
    )


async def run_job(
    options: JobOptions, *, base_url: str, api_key: str, out: IO[str], err: IO[str]
) -> int:
    """Run one upsert job to its end; return the exit code."""
    with graceful_signals(options.grace, err) as interrupts:  # from the start: none is lost
        throttle = shared_throttle(options, base_url, api_key)
        client = make_client(options, base_url, api_key, throttle)
        job = Job(options, client, err)
        if throttle is not None:  # Redis unreachable: a usage error, before any file is written
            await throttle.connect()
        total = estimate_total(options)
        progress = make_progress(options.progress, total, err, options.progress_interval)
        try:
            job.open_files()
            async with client:
                report = await job.run(progress, total, interrupts)
        except OSError as exc:  # a disk full under the journal, say: records were sent
            print(f"webex-campaign: error: the job stopped: a file failed: {exc}", file=err)
            return EXIT_ABORTED
        finally:
            job.close_files()
            if throttle is not None:
                await throttle.aclose()
    if progress is not None:
        final = job.snapshot(total)
        if not report.aborted:  # every record ended: the count of lines was only an estimate
            final = attrs.evolve(final, total=final.done)
        progress.close(final)
    try:
        summarize(report, job.tally, options, out)
    except BrokenPipeError:  # stdout closed early (`| head`): the summary is lost, not the job
        _silence(out)
    if options.report:
        try:
            write_report(options.report, report, job.tally, options)
        except OSError as exc:
            print(f"webex-campaign: error: writing {options.report!r} failed: {exc}", file=err)
            return EXIT_ABORTED
    if report.aborted:
        return EXIT_ABORTED
    if report.applied == report.total and job.tally.resumed_unapplied == 0:
        return EXIT_OK
    return EXIT_NOT_ALL_APPLIED


def _silence(stream: IO[str]) -> None:
    """Point a closed pipe's descriptor at /dev/null: the interpreter's last flush at exit
    would fail on it again, with a traceback."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def _profile(item: object) -> tuple[str, str | None] | None:
    """(list, key) of a record (key None: a filter record); None for an invalid one."""
    if isinstance(item, ProfileUpsert):
        return item.profile_name, item.key
    return None


def keep_ended_failures(path: str, index: JournalIndex, ordered: bool = True) -> int:
    """Keep the lines of a previous run's failures file whose records the journal ended (a
    resumed run does not send them again); drop the rest (they are sent again, and, with
    per-key order, so are the later lines of their profiles). Returns the lines kept."""
    if not os.path.exists(path):
        return 0
    kept = 0
    resent = Replay()
    with open(path, "rb") as old, open_private(path + ".tmp", "wb", replacing=path) as new:
        for raw in old:
            try:
                entry = json.loads(raw)
                line = entry.get("_line")
                profile = _wire_profile(entry) if ordered else None
                ended = line in index and (not index.applied(line) or "_replay" in entry)
            except (ValueError, AttributeError, TypeError):
                continue
            if ended and profile is not None and resent.follows(*profile):
                ended = False
            if not ended and profile is not None:
                resent.mark(*profile)
            if ended:
                new.write(raw if raw.endswith(b"\n") else raw + b"\n")
                kept += 1
    os.replace(path + ".tmp", path)
    return kept


def _wire_profile(entry: dict[str, Any]) -> tuple[str, str | None] | None:
    """(list, key) of a failures-file line (key None: a filter record), if it has them."""
    name, key = entry.get("profile-name"), entry.get("key")
    if not isinstance(name, str):
        return None
    if "filter" in entry:
        return name, None
    return (name, str(key)) if isinstance(key, (str, int)) else None
