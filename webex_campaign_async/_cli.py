"""``webex-campaign``: batch upserts from CSV / JSON lines files, the demo, and the emulator.

Exit codes: 0 every record applied; 1 some records did not apply; 2 usage or input error;
3 the run was aborted (permission failure, wrong endpoint, deadline, interrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import IO, Any

import attrs

from ._client import DEFAULT_UPSERT_PATH, CampaignClient
from ._journal import Journal, JournalIndex, record_hash
from ._jsonlines import LineWriter, failure_line
from ._models import UpdateLink, UpsertMode, parse_enum
from ._progress import Snapshot, make_progress
from ._ratecontrol import RateLimit
from ._readers import CsvOptions, InputError, count_lines, detect_format, read_csv, read_jsonl
from ._report import FAILURE_STATUSES, BulkReport
from ._results import RecordResult, RecordStatus
from ._retry import RetryPolicy
from .exceptions import InvalidRecordError, WebexCampaignError

__all__ = ["main"]

EXIT_OK, EXIT_NOT_ALL_APPLIED, EXIT_USAGE, EXIT_ABORTED = 0, 1, 2, 3

API_KEY_ENV = "WEBEX_CAMPAIGN_API_KEY"
BASE_URL_ENV = "WEBEX_CAMPAIGN_BASE_URL"
_SHOWN_PROBLEMS = 20

logger = logging.getLogger("webex_campaign_async")


class UsageError(Exception):
    """A command line that cannot run: exit code 2."""


@attrs.frozen
class JobOptions:
    """Everything `run_job` needs, parsed and checked."""

    input: str
    format: str
    csv: CsvOptions | None = None
    profile_name: str | None = None
    upsert: UpsertMode | None = None
    update_link: UpdateLink | None = None
    rate: float | None = None
    burst: int | None = None
    concurrency: int = 32
    attempts: int = 5
    timeout: float = 30.0
    deadline: float | None = None
    journal: str | None = None
    resume: bool = False
    failures: str | None = None
    report: str | None = None
    progress: str = "auto"
    progress_interval: float = 5.0
    grace: float = 10.0
    upsert_path: str | None = None
    allow_insecure_http: bool = False


# --- reading ---------------------------------------------------------------------------------


def read_records(options: JobOptions) -> Iterator[tuple[int, Any]]:
    """(line, ProfileUpsert | InvalidRecordError) of the job's input.

    The file is opened and its header checked now: a file that cannot be read raises
    `InputError` here, before a job starts, not from inside the run.
    """
    if options.format == "csv":
        assert options.csv is not None
        items = read_csv(options.input, options.csv)
    else:
        items = read_jsonl(
            options.input,
            profile_name=options.profile_name,
            upsert=options.upsert,
            update_link=options.update_link,
        )
    first = next(items, None)
    return items if first is None else itertools.chain((first,), items)


def _total(options: JobOptions) -> int | None:
    try:
        lines = count_lines(options.input)
    except OSError:
        return None
    return max(0, lines - 1) if options.format == "csv" else lines


# --- the job ---------------------------------------------------------------------------------


@attrs.define
class _Tally:
    """What the command line shows while and after a job runs."""

    done: int = 0
    applied: int = 0
    not_applied: int = 0  # every other ending
    failed: int = 0  # the endings written to the failures file
    resumed: int = 0
    resumed_not_applied: int = 0
    kept: int = 0  # lines of the failures file kept from the run resumed
    problems: list[str] = attrs.field(factory=list)


async def run_job(
    options: JobOptions,
    *,
    base_url: str,
    api_key: str,
    out: IO[str],
    err: IO[str],
) -> int:
    """Run one upsert job to its end; return the exit code."""
    index = JournalIndex.load(options.journal) if options.resume and options.journal else None
    if index is not None and len(index):
        print(f"resuming: the journal ended {len(index):,} records already", file=err)
    if index is not None and index.unreadable:
        print(f"resuming: {index.unreadable:,} unreadable journal line(s) ignored", file=err)
    source = read_records(options)  # InputError now, before any file is written
    rate: float | RateLimit | None = (
        RateLimit(options.rate, burst=options.burst) if options.rate is not None else None
    )
    client = CampaignClient(  # a base URL it refuses: before any file is written, too
        base_url,
        api_key=api_key,
        rate=rate,
        max_concurrency=options.concurrency,
        retry=RetryPolicy(attempts=options.attempts),
        timeout=options.timeout,
        allow_insecure_http=options.allow_insecure_http,
        upsert_path=options.upsert_path or DEFAULT_UPSERT_PATH,
    )
    tally = _Tally()
    if options.failures and index is not None:
        tally.kept = _keep_ended_failures(options.failures, index)
    journal = Journal(options.journal, append=options.resume) if options.journal else None
    failures = LineWriter(options.failures, append=index is not None) if options.failures else None
    meta: dict[int, tuple[int, int]] = {}

    def records() -> Iterator[Any]:
        position = 0
        for line, item in source:
            digest = record_hash(item)
            if index is not None and index.ended(line, digest):
                tally.resumed += 1
                tally.resumed_not_applied += not index.applied(line)
                continue
            meta[position] = (line, digest)
            position += 1
            yield item

    def on_result(result: RecordResult) -> None:
        line, digest = meta.pop(result.index)
        status = result.status
        if status in FAILURE_STATUSES and failures is not None:
            # in the OS before the journal ends the record: a killed job loses neither
            failures.write(failure_line(result, {"_line": line}))
            failures.flush()
        if journal is not None:
            journal.write(line, digest, result)
        tally.done += 1
        if status is RecordStatus.APPLIED:
            tally.applied += 1
            return
        tally.not_applied += 1
        if status in FAILURE_STATUSES:
            tally.failed += 1
        if len(tally.problems) < _SHOWN_PROBLEMS and status is not RecordStatus.SKIPPED:
            message = _one_line(result.message).removeprefix(f"line {line}: ")
            tally.problems.append(f"line {line}: {status.value}: {message}")

    total = _total(options)
    progress = make_progress(options.progress, total, err, options.progress_interval)

    def snapshot() -> Snapshot:
        done = tally.done + tally.resumed
        return Snapshot(done, total, tally.applied, tally.not_applied, client.rate)

    loop = asyncio.get_running_loop()
    report: BulkReport | None = None
    try:
        async with client:
            run = client.stream_upsert(records(), on_result=on_result, deadline=options.deadline)
            consumer = asyncio.ensure_future(_consume(run))
            ticker = asyncio.ensure_future(_tick(progress, snapshot)) if progress else None
            with (
                _signals(loop, run, consumer, options.grace, err),
                contextlib.suppress(asyncio.CancelledError),
            ):
                await consumer
            if ticker is not None:
                ticker.cancel()
            report = run.report()
    finally:
        if journal is not None:
            journal.close()
        if failures is not None:
            failures.close()
    assert report is not None
    if progress is not None:
        final = snapshot()
        if not report.aborted:  # every record ended: the count of lines was only an estimate
            final = attrs.evolve(final, total=final.done)
        progress.close(final)
    _summarize(report, tally, options, out)
    if options.report:
        _write_report(options.report, report, tally, options)
    if report.aborted:
        return EXIT_ABORTED
    if report.applied == report.total and tally.resumed_not_applied == 0:
        return EXIT_OK
    return EXIT_NOT_ALL_APPLIED


def _keep_ended_failures(path: str, index: JournalIndex) -> int:
    """Keep the lines of a previous run's failures file whose records the journal ended (a
    resumed run does not send them again); drop the rest (they are sent again). Returns the
    lines kept."""
    if not os.path.exists(path):
        return 0
    kept = 0
    with open(path, "rb") as old, open(path + ".tmp", "wb") as new:
        for raw in old:
            try:
                line = json.loads(raw).get("_line")
                ended = line in index and not index.applied(line)
            except (ValueError, AttributeError, TypeError):
                continue
            if ended:
                new.write(raw if raw.endswith(b"\n") else raw + b"\n")
                kept += 1
    os.replace(path + ".tmp", path)
    return kept


async def _consume(run: Any) -> None:
    async with run:  # results reach the journal and the files through on_result
        await run.complete()


async def _tick(progress: Any, snapshot: Any) -> None:
    while True:
        await asyncio.sleep(0.2)
        progress.show(snapshot())


@contextlib.contextmanager
def _signals(
    loop: asyncio.AbstractEventLoop,
    run: Any,
    consumer: asyncio.Future[None],
    grace: float,
    err: IO[str],
) -> Iterator[None]:
    """SIGINT/SIGTERM: stop reading, give in-flight requests ``grace`` seconds, then cancel."""
    signals = (signal.SIGINT, signal.SIGTERM)
    installed = []

    def interrupted(signum: int) -> None:
        name = signal.Signals(signum).name
        if run.stop_requested:
            print(f"\n{name} again: cancelling the requests in flight", file=err)
            consumer.cancel()
            return
        print(f"\n{name}: finishing the requests in flight (up to {grace:g} s)...", file=err)
        run.stop(f"interrupted by {name}")
        loop.call_later(grace, consumer.cancel)

    for sig in signals:
        try:
            loop.add_signal_handler(sig, interrupted, sig)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _summarize(report: BulkReport, tally: _Tally, options: JobOptions, out: IO[str]) -> None:
    print(str(report), file=out)
    if tally.resumed:
        print(f"  already ended in the journal (not sent again): {tally.resumed:,}", file=out)
    if tally.problems:
        shown = len(tally.problems)
        print(f"  first {shown} problem(s):" if shown > 1 else "  problem:", file=out)
        for problem in tally.problems:
            print(f"    {problem}", file=out)
    if options.failures and (tally.failed or tally.kept):
        kept = f" ({tally.kept:,} of them kept from the run resumed)" if tally.kept else ""
        print(
            f"  {tally.failed + tally.kept:,} record(s) to re-run written to {options.failures}"
            + kept,
            file=out,
        )
    if options.journal:
        print(f"  journal: {options.journal} (re-run with --resume to continue)", file=out)


def _write_report(path: str, report: BulkReport, tally: _Tally, options: JobOptions) -> None:
    data = report.to_dict()
    data["input"] = options.input
    data["resumed"] = tally.resumed
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


# --- dry run ---------------------------------------------------------------------------------


def dry_run(options: JobOptions, out: IO[str]) -> int:
    """Validate every record locally; print the invalid ones; estimate the duration."""
    valid = invalid = 0
    for _, item in read_records(options):
        if isinstance(item, InvalidRecordError):
            invalid += 1
            print(f"{_one_line(str(item))}", file=out)
        else:
            valid += 1
    total = valid + invalid
    print(f"{total:,} records: {valid:,} valid, {invalid:,} invalid", file=out)
    if options.rate:
        seconds = valid / options.rate
        print(
            f"at {options.rate:g} requests/s the valid records take about {_duration(seconds)} "
            "(plus retries)",
            file=out,
        )
    else:
        print("no --rate given: the duration depends on the API's latency and throttle", file=out)
    return EXIT_OK if invalid == 0 else EXIT_NOT_ALL_APPLIED


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


# --- argument parsing ------------------------------------------------------------------------


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _enum(enum_type: type[Any], field: str) -> Any:
    def parse(text: str) -> Any:
        try:
            return parse_enum(enum_type, text.replace("-", "_"), field)
        except InvalidRecordError as exc:
            raise argparse.ArgumentTypeError(exc.reason) from None

    return parse


def _rename(text: str) -> tuple[str, str]:
    old, sep, new = text.partition("=")
    if not sep or not old or not new:
        raise argparse.ArgumentTypeError(f"expected OLD=NEW, got {text!r}")
    return old, new


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``upsert`` and ``demo``."""
    send = parser.add_argument_group("sending")
    send.add_argument("--rate", type=_positive_float, help="requests per second (tenant throttle)")
    send.add_argument("--burst", type=_positive_int, help="requests allowed at once")
    send.add_argument("--concurrency", type=_positive_int, default=32, help="default: 32")
    send.add_argument("--attempts", type=_positive_int, default=5, help="per record, default 5")
    send.add_argument("--timeout", type=_positive_float, default=30.0, help="seconds per request")
    send.add_argument("--deadline", type=_positive_float, help="seconds for the whole job")
    files = parser.add_argument_group("files")
    files.add_argument("--report", metavar="PATH", help="write the report as JSON")
    files.add_argument(
        "--failures", metavar="PATH", help="write failed records as re-runnable JSON lines"
    )
    files.add_argument(
        "--journal", metavar="PATH", help="journal of ended records (default: INPUT.journal)"
    )
    files.add_argument("--no-journal", action="store_true", help="do not keep a journal")
    files.add_argument(
        "--resume", action="store_true", help="skip the records the journal already ended"
    )
    show = parser.add_argument_group("display")
    show.add_argument(
        "--progress",
        choices=["auto", "bar", "lines", "none"],
        default="auto",
        help="auto: a bar on a terminal, lines otherwise",
    )
    show.add_argument("--progress-interval", type=_positive_float, default=5.0, metavar="S")
    show.add_argument("-v", "--verbose", action="store_true", help="log what the client does")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webex-campaign",
        description="Bulk upserts of Webex Campaign contact profiles.",
        epilog="Exit codes: 0 all applied, 1 some did not apply, 2 usage or input error, "
        "3 aborted (permission failure, wrong endpoint, deadline, interrupted).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("upsert", help="upsert the profiles of a CSV or JSON lines file")
    up.add_argument("input", metavar="INPUT", help="a .csv or .jsonl file")
    up.add_argument("--format", choices=["csv", "jsonl"], help="default: from the extension")
    up.add_argument("--profile-name", help="the profile list (required for CSV)")
    up.add_argument("--key-column", default="key", help="CSV column of the profile key")
    up.add_argument("--columns", help="CSV columns to send as attributes, comma separated")
    up.add_argument(
        "--rename",
        type=_rename,
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="send CSV column OLD as attribute NEW (repeatable)",
    )
    up.add_argument("--keep-empty", action="store_true", help="send empty CSV cells as ''")
    up.add_argument("--delimiter", default=",", help="CSV delimiter")
    up.add_argument("--encoding", default="utf-8-sig", help="CSV encoding")
    up.add_argument(
        "--upsert",
        type=_enum(UpsertMode, "upsert"),
        metavar="MODE",
        help="create-only, create-or-update (default) or update-only",
    )
    up.add_argument(
        "--update-link",
        type=_enum(UpdateLink, "update-link"),
        metavar="MODE",
        help="ignore, create-empty (API default) or fail",
    )
    up.add_argument(
        "--base-url",
        default=os.environ.get(BASE_URL_ENV),
        help=f"https://<your-domain>.webexcampaign.io (default: ${BASE_URL_ENV})",
    )
    up.add_argument("--upsert-path", help="API path of the upsert (default: inferred)")
    up.add_argument(
        "--api-key-env",
        default=API_KEY_ENV,
        metavar="NAME",
        help=f"environment variable holding the API key (default: {API_KEY_ENV})",
    )
    up.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// base URL that is not loopback (the key travels unencrypted)",
    )
    up.add_argument("--dry-run", action="store_true", help="validate and estimate, send nothing")
    up.add_argument("--grace", type=_positive_float, default=10.0, help=argparse.SUPPRESS)
    add_job_arguments(up)

    demo = sub.add_parser("demo", help="run a job against the built-in emulator")
    demo.add_argument("--records", type=_positive_int, default=5000, help="default: 5000")
    demo.add_argument("--dir", help="where to write the sample file (default: a temp dir)")
    add_job_arguments(demo)

    sub.add_parser("emulator", help="serve the API emulator (see: webex-campaign emulator -h)")
    return parser


def job_options(args: argparse.Namespace) -> JobOptions:
    """Check the parsed command line and build the job's options."""
    fmt = detect_format(args.input, args.format)
    csv_options = None
    if fmt == "csv":
        if not args.profile_name:
            raise UsageError("CSV input needs --profile-name")
        csv_options = CsvOptions(
            args.profile_name,
            key_column=args.key_column,
            columns=tuple(c.strip() for c in args.columns.split(",")) if args.columns else None,
            rename=dict(args.rename),
            keep_empty=args.keep_empty,
            delimiter=args.delimiter,
            encoding=args.encoding,
            upsert=args.upsert or UpsertMode.CREATE_OR_UPDATE,
            update_link=args.update_link,
        )
    return JobOptions(
        format=fmt,
        csv=csv_options,
        profile_name=args.profile_name,
        upsert=args.upsert,
        update_link=args.update_link,
        grace=args.grace,
        upsert_path=args.upsert_path,
        allow_insecure_http=args.allow_insecure_http,
        **job_arguments(args, args.input),
    )


def job_arguments(args: argparse.Namespace, path: str) -> dict[str, Any]:
    """The `JobOptions` fields of the options `add_job_arguments` defines, for input ``path``."""
    journal = None if args.no_journal else (args.journal or f"{path}.journal")
    if args.resume and journal is None:
        raise UsageError("--resume needs a journal")
    return {
        "input": path,
        "rate": args.rate,
        "burst": args.burst,
        "concurrency": args.concurrency,
        "attempts": args.attempts,
        "timeout": args.timeout,
        "deadline": args.deadline,
        "journal": journal,
        "resume": args.resume,
        "failures": args.failures,
        "report": args.report,
        "progress": args.progress,
        "progress_interval": args.progress_interval,
    }


def _check_outputs(options: JobOptions) -> None:
    """Refuse an output file that would overwrite the input or another output, or that
    cannot be written: before the job, not after it."""
    seen = {os.path.realpath(options.input): "the input file"}
    outputs = (("--journal", options.journal), ("--failures", options.failures))
    for flag, path in (*outputs, ("--report", options.report)):
        if path is None:
            continue
        real = os.path.realpath(path)
        if real in seen:
            raise UsageError(f"{flag} {path!r} is {seen[real]}: choose another path")
        seen[real] = f"the {flag} file"
        hint = " (choose one with --journal, or --no-journal)" if flag == "--journal" else ""
        if os.path.isdir(real):
            raise UsageError(f"{flag} {path!r} is a directory{hint}")
        parent = os.path.dirname(real)
        if not os.path.isdir(parent):
            raise UsageError(f"{flag} {path!r}: no such directory {parent!r}{hint}")
        if not os.access(real if os.path.exists(real) else parent, os.W_OK):
            raise UsageError(f"{flag} {path!r}: permission denied{hint}")


def _upsert_command(args: argparse.Namespace) -> int:
    options = job_options(args)
    if args.dry_run:
        return dry_run(options, sys.stdout)
    if not os.path.exists(options.input):
        raise InputError(f"cannot read {options.input!r}: no such file")
    _check_outputs(options)
    if not args.base_url:
        raise UsageError(f"give --base-url or set ${BASE_URL_ENV}")
    api_key = os.environ.get(args.api_key_env)
    if not api_key:
        raise UsageError(f"set the API key in ${args.api_key_env} (it is never read from argv)")
    return asyncio.run(
        run_job(options, base_url=args.base_url, api_key=api_key, out=sys.stdout, err=sys.stderr)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The ``webex-campaign`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        from .emulator._serve import main as serve

        return serve(argv[1:], prog="webex-campaign emulator")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "demo":
            from ._demo import demo_command

            return demo_command(args)
        return _upsert_command(args)
    except (UsageError, InputError, WebexCampaignError) as exc:
        print(f"webex-campaign: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a file that went away or filled the disk: no traceback
        print(f"webex-campaign: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # before the job's own signal handling is in place
        return EXIT_ABORTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
