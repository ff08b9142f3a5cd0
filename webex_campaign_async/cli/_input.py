"""The records of a job's input file, read by the reader its options choose."""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Iterator
from typing import Any

from ._lines import count_lines
from ._options import JobOptions
from ._pipes import may_block
from ._readers import read_csv, read_jsonl

__all__ = ["estimate_total", "read_records"]


def read_records(options: JobOptions) -> Iterator[tuple[int, Any]]:
    """(line, ProfileUpsert | InvalidRecordError) of the job's input.

    A regular file is opened and its header checked now: a file that cannot be read
    raises `InputError` here, before a job starts, not from inside the run. A pipe is
    opened and read only by the run (in a thread of its own): its first line may be a long
    time coming, and a signal or a deadline must not wait for it.
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
            encoding=options.encoding,
        )
    if may_block(options.input):
        return items
    first = next(items, None)
    return items if first is None else itertools.chain((first,), items)


def estimate_total(options: JobOptions) -> int | None:
    """Records in the input, from its line count (for the progress display); None for what
    cannot be read twice (a pipe)."""
    try:
        if not stat.S_ISREG(os.stat(options.input).st_mode):
            return None
        lines = count_lines(options.input, options.encoding)
    except (OSError, ValueError):
        return None
    return max(0, lines - 1) if options.format == "csv" else lines
