"""``webex-campaign``: parse the command line, run the command, turn errors into exit codes.

Exit codes: 0 every record applied; 1 some records did not apply; 2 usage or input error;
3 the run was aborted (permission failure, wrong endpoint, deadline, interrupted).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from .. import InputError, WebexCampaignError
from ._args import build_parser, check_outputs, job_options
from ._dryrun import dry_run
from ._job import run_job
from ._loop import run
from ._options import BASE_URL_ENV, EXIT_ABORTED, EXIT_USAGE, UsageError

__all__ = ["main"]


def _upsert_command(args: argparse.Namespace) -> int:
    options = job_options(args)
    if args.dry_run:
        return dry_run(options, sys.stdout)
    if not os.path.exists(options.input):
        raise InputError(f"cannot read {options.input!r}: no such file")
    check_outputs(options)
    if not args.base_url:
        raise UsageError(f"give --base-url or set ${BASE_URL_ENV}")
    if not args.api_key_env:
        raise UsageError("--api-key-env: give the name of an environment variable")
    api_key = os.environ.get(args.api_key_env)
    if not api_key:
        raise UsageError(f"set the API key in ${args.api_key_env} (it is never read from argv)")
    job = run_job(options, base_url=args.base_url, api_key=api_key, out=sys.stdout, err=sys.stderr)
    return run(job, use_uvloop=not args.no_uvloop)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``webex-campaign`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        from ..emulator import serve_main

        return serve_main(argv[1:], prog="webex-campaign emulator")
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
    except (UsageError, WebexCampaignError) as exc:
        print(f"webex-campaign: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a file that went away or filled the disk: no traceback
        print(f"webex-campaign: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # before the job's own signal handling is in place
        return EXIT_ABORTED
