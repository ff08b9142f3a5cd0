"""What a job prints when it ends, and the JSON report file it writes."""

from __future__ import annotations

import json
from collections import Counter
from typing import IO

import attrs

from .. import BulkReport, RecordStatus
from .._files import open_private
from ._options import JobOptions

__all__ = ["Tally", "one_line", "summarize", "write_report"]

SHOWN_PROBLEMS = 20


@attrs.define
class Tally:
    """What the command line counts while a job runs, beside the run's own report."""

    done: int = 0
    counts: Counter[RecordStatus] = attrs.field(factory=Counter)  # the endings, by status
    rerun: int = 0  # the endings written to the failures file (failed, rejected, ...)
    resumed: int = 0
    resumed_unapplied: int = 0  # of the resumed lines, those the journal did not see applied
    kept: int = 0  # lines of the failures file kept from the run resumed
    resent: int = 0  # lines the journal ended, sent again after an earlier one of their profile
    replayed: int = 0  # applied, in the failures file after an earlier one of their profile
    last_line: int = 0  # the input line of the last record read
    problems: list[str] = attrs.field(factory=list)


def one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def summarize(report: BulkReport, tally: Tally, options: JobOptions, out: IO[str]) -> None:
    print(str(report), file=out)
    if tally.resumed:
        print(f"  already ended in the journal (not sent again): {tally.resumed:,}", file=out)
    if tally.resent:
        print(
            f"  ended in the journal, sent again after an earlier record of their profile: "
            f"{tally.resent:,}",
            file=out,
        )
    if tally.problems:
        shown = len(tally.problems)
        print(f"  first {shown} problem(s):" if shown > 1 else "  problem:", file=out)
        for problem in tally.problems:
            print(f"    {problem}", file=out)
    if options.failures and (tally.rerun or tally.kept):
        kept = f" ({tally.kept:,} of them kept from the run resumed)" if tally.kept else ""
        print(
            f"  {tally.rerun + tally.kept:,} record(s) to re-run written to {options.failures}"
            + kept,
            file=out,
        )
    if options.failures and tally.replayed:
        print(
            f"  {tally.replayed:,} applied record(s) also written there, after an earlier record"
            " of their profile: re-run the file as it is, in its order",
            file=out,
        )
    if report.aborted:
        print(
            f"  input read up to line {tally.last_line:,}: the records after it were not read "
            "and are not counted above",
            file=out,
        )
    if options.journal:
        print(f"  journal: {options.journal} (re-run with --resume to continue)", file=out)


def write_report(path: str, report: BulkReport, tally: Tally, options: JobOptions) -> None:
    data = report.to_dict()
    data["input"] = options.input
    data["resumed"] = tally.resumed
    data["resent_in_order"] = tally.resent
    data["read_up_to_line"] = tally.last_line
    with open_private(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
