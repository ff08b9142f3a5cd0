"""Fixtures of the command-line tests: the real ``webex-campaign`` console script, run in a
subprocess against an emulator served by a child process (one per session, reset per test)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from webex_campaign_async.emulator import EmulatorProcess

#: A key the served emulator answers with 401/430 (permission denied).
FORBIDDEN_KEY = "forbidden-key-0123"
#: A list linked to another one: ``--update-link fail`` on a new key is REJECTED (code 1010,
#: answered to each of its ``unprocessed_attempts``).
LINKED_LIST = "linked"


def console_script() -> list[str]:
    """``webex-campaign`` next to this interpreter, or ``python -m webex_campaign_async``."""
    script = shutil.which("webex-campaign", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "webex_campaign_async"]


class Cli:
    """Runs ``webex-campaign`` in ``cwd`` with the emulator's key and URL in its environment."""

    def __init__(self, emulator: EmulatorProcess, cwd: Path) -> None:
        self.emulator = emulator
        self.cwd = cwd
        self.argv = console_script()
        self.started: list[subprocess.Popen[str]] = []

    def env(self, **changes: str | None) -> dict[str, str]:
        """The child's environment: the emulator's key and URL, then ``changes`` (None: unset)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("WEBEX_CAMPAIGN_")}
        env["WEBEX_CAMPAIGN_API_KEY"] = self.emulator.api_key
        env["WEBEX_CAMPAIGN_BASE_URL"] = self.emulator.base_url
        env["PYTHONUNBUFFERED"] = "1"
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run to the end; stdout and stderr captured as text."""
        return subprocess.run(  # noqa: S603 - our own console script
            [*self.argv, *args],
            cwd=self.cwd,
            env=dict(env) if env is not None else self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start in the background (stdout and stderr to pipes); killed by `close` if need be."""
        process = subprocess.Popen(  # noqa: S603 - our own console script
            [*self.argv, *args],
            cwd=self.cwd,
            env=dict(env) if env is not None else self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        return process

    def close(self) -> None:
        """Kill what `start` started and a failed test left running."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.communicate()


@pytest.fixture(scope="session")
def served() -> Iterator[EmulatorProcess]:
    """One emulator for the whole session (lists are created on first use)."""
    with EmulatorProcess(forbidden_keys=[FORBIDDEN_KEY], links={LINKED_LIST: "details"}) as server:
        yield server


@pytest.fixture
def emulator(served: EmulatorProcess) -> EmulatorProcess:
    """The session's emulator with no profiles and zeroed statistics."""
    served.reset()
    return served


@pytest.fixture
def cli_for(tmp_path: Path) -> Iterator[Callable[[EmulatorProcess], Cli]]:
    """``cli_for(emulator)``: ``webex-campaign`` against ``emulator``, working in ``tmp_path``."""
    made: list[Cli] = []

    def make(emulator: EmulatorProcess) -> Cli:
        made.append(Cli(emulator, tmp_path))
        return made[-1]

    yield make
    for cli in made:
        cli.close()


@pytest.fixture
def cli(emulator: EmulatorProcess, cli_for: Callable[[EmulatorProcess], Cli]) -> Cli:
    """``webex-campaign`` against the reset session emulator, working in ``tmp_path``."""
    return cli_for(emulator)


# --- files ---------------------------------------------------------------------------------


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, objects: Iterable[object]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for obj in objects:
            f.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete JSON lines of a file (a torn last line, after a kill, is left out)."""
    out = []
    for raw in path.read_bytes().splitlines():
        try:
            out.append(json.loads(raw))
        except ValueError:
            continue
    return out


def wire(name: str, key: str, **attributes: str) -> dict[str, Any]:
    """A profile upsert's wire JSON."""
    attrs = [{"attribute-name": k, "val": v} for k, v in attributes.items()]
    return {"profile-name": name, "key": key, "attributes": attrs}


def wait_for(
    condition: Callable[[], bool], timeout: float = 15.0, what: str = "the condition"
) -> None:
    """Poll ``condition`` every 10 ms until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def journal_size(path: Path) -> int:
    """Complete lines in a journal so far (0 while it does not exist)."""
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def sends(emulator: EmulatorProcess) -> dict[tuple[str, str], int]:
    """Requests the emulator received per (profile-name, key)."""
    per_key = emulator.stats(keys=True)["requests_per_key"]
    return {(e["profile-name"], e["key"]): e["requests"] for e in per_key}


_STATUSES = ("applied", "not_applied", "rejected", "invalid", "failed", "skipped")


def summary_counts(stdout: str) -> dict[str, int]:
    """The status table of the final summary: ``{"applied": 3, ...}``."""
    counts = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in _STATUSES:
            counts[parts[0]] = int(parts[1].replace(",", ""))
    assert set(counts) == set(_STATUSES), stdout
    return counts
