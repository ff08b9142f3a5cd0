"""``webex-campaign upsert --dry-run``: validate every record locally and estimate the time."""

from __future__ import annotations

from typing import IO

from .. import InvalidRecordError
from ._input import read_records
from ._options import EXIT_NOT_ALL_APPLIED, EXIT_OK, JobOptions
from ._summary import one_line

__all__ = ["dry_run"]


def dry_run(options: JobOptions, out: IO[str]) -> int:
    """Print the invalid records and a duration estimate; nothing is sent."""
    valid = invalid = 0
    for _, item in read_records(options):
        if isinstance(item, InvalidRecordError):
            invalid += 1
            print(one_line(str(item)), file=out)
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
