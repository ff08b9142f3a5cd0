"""The command line: argparse definitions, and their check into `JobOptions`."""

from __future__ import annotations

import argparse
import math
import os
from typing import Any, NoReturn

from .. import UpdateLink, UpsertMode
from ._lines import DEFAULT_ENCODING, check_encoding
from ._options import API_KEY_ENV, BASE_URL_ENV, REDIS_URL_ENV, JobOptions, UsageError
from ._readers import CsvOptions, check_delimiter, default_delimiter, detect_format

__all__ = ["add_job_arguments", "build_parser", "check_outputs", "job_arguments", "job_options"]

#: More workers than this is a mistake (each holds a connection): refused.
MAX_CONCURRENCY = 10_000


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and exit 2), for logs of batch jobs."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return value


def _concurrency(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be <= {MAX_CONCURRENCY:,}, got {text!r}")
    return value


def _enum(enum_type: type[Any]) -> Any:
    def parse(text: str) -> Any:
        try:  # the wire value ("0") or the name, in any case, with - for _
            return enum_type(text.replace("-", "_"))
        except ValueError:
            choices = ", ".join(m.name.lower().replace("_", "-") for m in enum_type)
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {choices}") from None

    return parse


def _rename(text: str) -> tuple[str, str]:
    old, sep, new = text.partition("=")
    if not sep or not old.strip() or not new.strip():
        raise argparse.ArgumentTypeError(f"expected OLD=NEW, got {text!r}")
    return old.strip(), new


_ATTEMPTS = (
    "requests per record, default 5 (failures of a gateway outage in a record's first 60 s "
    "are not counted: a short outage is waited out)"
)


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``upsert`` and ``demo``."""
    send = parser.add_argument_group("sending")
    send.add_argument("--rate", type=_positive_float, help="requests per second (tenant throttle)")
    send.add_argument("--burst", type=_positive_int, help="requests allowed at once")
    send.add_argument("--concurrency", type=_concurrency, default=32, help="default: 32")
    send.add_argument("--attempts", type=_positive_int, default=5, help=_ATTEMPTS)
    send.add_argument("--timeout", type=_positive_float, default=30.0, help="seconds per request")
    send.add_argument("--deadline", type=_positive_float, help="seconds for the whole job")
    send.add_argument(
        "--unordered",
        action="store_true",
        help="send records of one key concurrently (only when every key is unique: a later "
        "record may otherwise be overwritten by an earlier one)",
    )
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
    parser.add_argument(
        "--no-uvloop",
        action="store_true",
        help="run on asyncio's own event loop even when uvloop is installed",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="webex-campaign",
        description="Bulk upserts of Webex Campaign contact profiles.",
        epilog="Exit codes: 0 all applied, 1 some did not apply, 2 usage or input error, "
        "3 aborted after sending began (permission, endpoint, token, TLS, deadline, signal, a "
        "file that could not be written).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("upsert", help="upsert the profiles of a CSV or JSON lines file")
    up.add_argument("input", metavar="INPUT", help="a .csv or .jsonl file")
    up.add_argument("--format", choices=["csv", "jsonl"], help="default: from the extension")
    up.add_argument("--profile-name", help="the profile list (required for CSV)")
    up.add_argument("--key-column", help="CSV column of the profile key (default: key)")
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
    up.add_argument(
        "--delimiter", help="CSV delimiter, one character or \\t (default: a tab for .tsv, else ,)"
    )
    up.add_argument(
        "--encoding",
        default=DEFAULT_ENCODING,
        help="encoding of the input, e.g. utf-16, cp1252 (default: UTF-8; a BOM is skipped)",
    )
    up.add_argument(
        "--upsert",
        type=_enum(UpsertMode),
        metavar="MODE",
        help="create-only, create-or-update (default) or update-only",
    )
    up.add_argument(
        "--update-link",
        type=_enum(UpdateLink),
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
    up.add_argument(
        "--ca-file",
        metavar="PATH",
        help="also trust the CA certificates in PATH (PEM), e.g. a TLS-inspecting proxy's; "
        "SSL_CERT_FILE replaces the system's CAs instead",
    )
    up.add_argument(
        "--redis-url",
        default=os.environ.get(REDIS_URL_ENV),
        metavar="URL",
        help="share one throttle with every worker of the tenant through this Redis "
        f"(redis:// or rediss://; default: ${REDIS_URL_ENV}, which keeps a password off argv)",
    )
    up.add_argument(
        "--no-proxy",
        action="store_true",
        help="ignore HTTPS_PROXY / HTTP_PROXY / NO_PROXY and connect directly",
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
    """Check the parsed ``upsert`` command line and build the job's options (raises
    `UsageError` for an option value that cannot work, before anything is read or sent)."""
    fmt = detect_format(args.input, args.format)
    try:
        encoding = check_encoding(args.encoding)
    except ValueError as exc:
        raise UsageError(f"--encoding: {exc}") from None
    if args.profile_name is not None and not args.profile_name.strip():
        raise UsageError("--profile-name must not be empty")
    if args.burst is not None and args.rate is None:
        raise UsageError("--burst needs --rate")
    csv_options = None
    if fmt == "csv":
        if not args.profile_name:
            raise UsageError("CSV input needs --profile-name")
        csv_options = _csv_options(args, encoding)
    else:
        given = [flag for flag, value in _CSV_ONLY.items() if getattr(args, value)]
        if given:
            raise UsageError(f"{', '.join(given)}: only for CSV input")
    return JobOptions(
        format=fmt,
        csv=csv_options,
        profile_name=args.profile_name,
        upsert=args.upsert,
        update_link=args.update_link,
        encoding=encoding,
        grace=args.grace,
        upsert_path=args.upsert_path,
        allow_insecure_http=args.allow_insecure_http,
        ca_file=args.ca_file,
        trust_env=not args.no_proxy,
        redis_url=args.redis_url or None,
        **job_arguments(args, args.input),
    )


_CSV_ONLY = {
    "--key-column": "key_column",
    "--columns": "columns",
    "--rename": "rename",
    "--keep-empty": "keep_empty",
    "--delimiter": "delimiter",
}


def _csv_options(args: argparse.Namespace, encoding: str) -> CsvOptions:
    try:
        delimiter = check_delimiter(
            default_delimiter(args.input) if args.delimiter is None else args.delimiter
        )
    except ValueError as exc:
        raise UsageError(f"--delimiter: {exc}") from None
    key_column = "key" if args.key_column is None else args.key_column.strip()
    if not key_column:
        raise UsageError("--key-column must not be empty")
    columns = None
    if args.columns is not None:
        columns = tuple(c.strip() for c in args.columns.split(","))
        if not all(columns):
            raise UsageError(f"--columns {args.columns!r}: a column name is empty")
        twice = sorted({c for c in columns if columns.count(c) > 1})
        if twice:
            raise UsageError(f"--columns names {', '.join(map(repr, twice))} twice")
    rename: dict[str, str] = {}
    for old, new in args.rename:
        if old in rename:
            raise UsageError(f"--rename {old}=...: given twice for column {old!r}")
        rename[old] = new
    return CsvOptions(
        args.profile_name,
        key_column=key_column,
        columns=columns,
        rename=rename,
        keep_empty=args.keep_empty,
        delimiter=delimiter,
        encoding=encoding,
        upsert=args.upsert or UpsertMode.CREATE_OR_UPDATE,
        update_link=args.update_link,
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
        "ordered": not args.unordered,
        "journal": journal,
        "resume": args.resume,
        "failures": args.failures,
        "report": args.report,
        "progress": args.progress,
        "progress_interval": args.progress_interval,
    }


def _identity(path: str) -> tuple[object, ...]:
    """A file's identity: device and inode (any link or spelling), else its real path."""
    try:
        info = os.stat(path)
    except OSError:
        return ("path", os.path.realpath(path))
    return ("inode", info.st_dev, info.st_ino)


def check_outputs(options: JobOptions) -> None:
    """Refuse an output file that would overwrite the input or another output, or that
    cannot be written: before the job, not after it."""
    seen = {_identity(options.input): "the input file"}
    outputs = (("--journal", options.journal), ("--failures", options.failures))
    for flag, path in (*outputs, ("--report", options.report)):
        if path is None:
            continue
        real = os.path.realpath(path)
        identity = _identity(path)
        if identity in seen:
            raise UsageError(f"{flag} {path!r} is {seen[identity]}: choose another path")
        seen[identity] = f"the {flag} file"
        hint = " (choose one with --journal, or --no-journal)" if flag == "--journal" else ""
        if os.path.isdir(real):
            raise UsageError(f"{flag} {path!r} is a directory{hint}")
        parent = os.path.dirname(real)
        if not os.path.isdir(parent):
            raise UsageError(f"{flag} {path!r}: no such directory {parent!r}{hint}")
        if not os.access(real if os.path.exists(real) else parent, os.W_OK):
            raise UsageError(f"{flag} {path!r}: permission denied{hint}")
