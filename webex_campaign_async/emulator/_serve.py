"""Serving the emulator from the shell: ``python -m webex_campaign_async.emulator``.

`main` parses the arguments into an `EmulatorConfig`, prints one JSON line (base URL, API key,
upsert URL, pid) on stdout, and serves until SIGINT/SIGTERM (or stdin closes, when asked).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

import attrs

from ..exceptions import ConfigurationError
from ._config import (
    PROBABILITY_FIELDS,
    EmulatorConfig,
    Storm,
    config_from_json,
)
from ._server import Emulator

__all__ = ["build_parser", "config_from_args", "main"]

_FAULT_NAMES = (*PROBABILITY_FIELDS, "slow_seconds", "latency", "jitter", "seed")


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def _storm(text: str) -> Storm:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"expected START:DURATION[:RETRY_AFTER], got {text!r}")
    try:
        start, duration = float(parts[0]), float(parts[1])
        return Storm(start, duration, parts[2] if len(parts) == 3 else None)
    except (ValueError, ConfigurationError) as exc:
        raise argparse.ArgumentTypeError(f"invalid storm {text!r}: {exc}") from None


def _retry_after(text: str) -> str | float:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or seconds, got {text!r}") from None


class _Parser(argparse.ArgumentParser):
    """Errors in one line (``--help`` has the usage), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, not {text!r}")
    return port


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of `main`."""
    parser = _Parser(
        prog=prog or "python -m webex_campaign_async.emulator",
        description="Serve an offline emulator of the Webex Campaign contact-profile API.",
    )
    add = parser.add_argument
    add("--host", help="interface to listen on (default 127.0.0.1)")
    add("--port", type=_port, help="port to listen on (default 8080; 0: a free port)")
    add("--upsert-path", help="path of the single upsert")
    add("--api-key", action="append", metavar="KEY", help="a valid API key (repeatable)")
    add("--forbidden-key", action="append", metavar="KEY", help="a key answered 401/430")
    add("--profile-list", action="append", metavar="NAME", help="declare a known list")
    add(
        "--lenient",
        action="store_true",
        help="also take numbers for strings, enums in any case and any Content-Type",
    )
    add("--link", action="append", type=_pair, metavar="LIST=LINKED", help="a linked list")
    add("--rate", type=float, help="requests per second per tenant (default: unlimited)")
    add("--burst", type=float, help="token bucket size (default: one second's worth)")
    add("--retry-after", type=_retry_after, metavar="auto|N", help="Retry-After on 429s")
    add("--latency", type=float, help="seconds added to every answer")
    add("--jitter", type=float, help="uniform random seconds added to the latency")
    add(
        "--fault",
        action="append",
        type=_pair,
        metavar="NAME=VALUE",
        help=f"a fault setting, NAME one of {', '.join(_FAULT_NAMES)} (repeatable)",
    )
    add(
        "--storm",
        action="append",
        type=_storm,
        metavar="START:DURATION[:RETRY_AFTER]",
        help="a window of 429s, in seconds after start (repeatable)",
    )
    add("--seed", type=int, help="seed of the fault draws (default 0)")
    add("--no-track-keys", action="store_true", help="do not count requests per key")
    add("--config-json", metavar="JSON", help="a whole configuration; other flags override it")
    add("--quiet", action="store_true", help="no human-readable banner on stderr")
    add("--exit-on-stdin-eof", action="store_true", help="stop when stdin closes")
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The configuration the parsed arguments describe (raises `ConfigurationError`)."""
    base = (
        config_from_json(json.loads(args.config_json))
        if args.config_json
        else EmulatorConfig(port=8080)
    )
    changes: dict[str, Any] = {}
    for name in ("host", "port", "upsert_path", "rate", "burst", "retry_after"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    if args.api_key:
        changes["api_keys"] = tuple(args.api_key)
    if args.forbidden_key:
        changes["forbidden_keys"] = tuple(args.forbidden_key)
    if args.profile_list:
        changes["profile_lists"] = frozenset(args.profile_list)
    if args.lenient:
        changes["strict"] = False
    if args.link:
        changes["links"] = {**base.links, **dict(args.link)}
    if args.no_track_keys:
        changes["track_keys"] = False

    fault_changes: dict[str, Any] = {}
    for name, value in args.fault or ():
        if name not in _FAULT_NAMES:
            raise ConfigurationError(f"unknown fault {name!r}; expected one of {_FAULT_NAMES}")
        try:
            fault_changes[name] = int(value) if name == "seed" else float(value)
        except ValueError:
            raise ConfigurationError(f"fault {name}: not a number: {value!r}") from None
    for name in ("latency", "jitter", "seed"):
        value = getattr(args, name)
        if value is not None:
            fault_changes[name] = value
    if args.storm:
        fault_changes["storms"] = (*base.faults.storms, *args.storm)
    if fault_changes:
        changes["faults"] = attrs.evolve(base.faults, **fault_changes)
    return attrs.evolve(base, **changes) if changes else base


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    def wait_for_eof() -> None:
        try:
            while sys.stdin.buffer.read(65536):
                pass
        except (OSError, ValueError):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, name="emulator-stdin", daemon=True).start()


async def serve(config: EmulatorConfig, *, quiet: bool = False, exit_on_eof: bool = False) -> None:
    """Serve ``config`` until SIGINT/SIGTERM (or stdin's end with ``exit_on_eof``)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: no handlers
            loop.add_signal_handler(sig, stop.set)
    if exit_on_eof:
        _watch_stdin(loop, stop)
    async with Emulator(config) as emulator:
        line = {
            "base_url": emulator.base_url,
            "api_key": emulator.api_key,
            "url": emulator.url,
            "pid": os.getpid(),
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        if not quiet:
            sys.stderr.write(
                f"Webex Campaign emulator on {emulator.base_url} "
                f"(upsert: POST {config.upsert_path}); API key: {emulator.api_key}\n"
                "Stats: GET /_emulator/stats. Stop with Ctrl+C.\n"
            )
            sys.stderr.flush()
        await stop.wait()


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Parse ``argv``, serve until interrupted; 0 on a clean stop, 2 on bad arguments."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (ConfigurationError, ValueError, TypeError) as exc:
        parser.error(str(exc))
    try:
        asyncio.run(serve(config, quiet=args.quiet, exit_on_eof=args.exit_on_stdin_eof))
    except KeyboardInterrupt:  # pragma: no cover - signal handlers normally catch it
        pass
    except OSError as exc:
        sys.stderr.write(f"cannot serve: {exc}\n")
        return 1
    return 0
