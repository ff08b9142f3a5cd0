"""`EmulatorProcess`: the emulator served by a child Python process, for benchmarks.

The server then has its own event loop and CPU core, so it cannot slow the client under
test down. The child prints its address as a first JSON line and stops when stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs

from ._config import EmulatorConfig, config_to_json

__all__ = ["EmulatorProcess"]

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorProcess:
    """An emulator in a child process; a sync and an async context manager.

    ::

        with EmulatorProcess(rate=500) as server:
            ...  # send to server.base_url with server.api_key
            print(server.stats()["max_per_second"])

    ``config`` and ``overrides`` as for `Emulator`. ``python`` is the interpreter to run
    (default: this one).
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        startup_timeout: float = 30.0,
        python: str | None = None,
        **overrides: Any,
    ) -> None:
        config = config if config is not None else EmulatorConfig()
        if overrides:
            config = attrs.evolve(config, **overrides)
        self.config = config
        self.startup_timeout = startup_timeout
        self.python = python or sys.executable
        self._process: subprocess.Popen[bytes] | None = None
        self._info: dict[str, Any] | None = None
        self._returncode: int | None = None

    def __repr__(self) -> str:
        where = self._info["base_url"] if self._info else "not running"
        return f"<EmulatorProcess {where}>"

    # --- what a benchmark reads ----------------------------------------------------------------

    def _started(self) -> dict[str, Any]:
        if self._info is None:
            raise RuntimeError("the emulator process is not running: use 'with EmulatorProcess()'")
        return self._info

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the child's server."""
        return str(self._started()["base_url"])

    @property
    def url(self) -> str:
        """The full URL of the upsert path."""
        return str(self._started()["url"])

    @property
    def api_key(self) -> str:
        """A valid API key of the child's server."""
        return str(self._started()["api_key"])

    @property
    def pid(self) -> int:
        """The child's process id."""
        return int(self._started()["pid"])

    def _call(self, method: str, path: str, body: bytes | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 server
            self.base_url + path,
            data=body,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with _NO_PROXY.open(request, timeout=30) as response:
            return json.loads(response.read())

    def stats(self, *, keys: bool = False, log: bool = False) -> dict[str, Any]:
        """The child's statistics (``GET /_emulator/stats``)."""
        query = "&".join(f"{name}=1" for name, on in (("keys", keys), ("log", log)) if on)
        result: dict[str, Any] = self._call("GET", "/_emulator/stats" + ("?" + query) * bool(query))
        return result

    async def astats(self, *, keys: bool = False, log: bool = False) -> dict[str, Any]:
        """`stats` from a thread, not blocking the event loop."""
        return await asyncio.to_thread(self.stats, keys=keys, log=log)

    def reset(self) -> None:
        """Reset the child's profiles and statistics (``POST /_emulator/reset``)."""
        self._call("POST", "/_emulator/reset", b"")

    def profiles(self, profile_name: str) -> dict[str, dict[str, Any]]:
        """One of the child's profile lists."""
        path = "/_emulator/profiles/" + urllib.parse.quote(profile_name, safe="")
        result: dict[str, dict[str, Any]] = self._call("GET", path)["profiles"]
        return result

    def set_rate(self, rate: float | None) -> None:
        """Change the child's throttle from now on (``POST /_emulator/rate``)."""
        self._call("POST", "/_emulator/rate", json.dumps({"rate": rate}).encode())

    def issue_token(self, ttl: float | None = None, max_requests: int | None = None) -> str:
        """A new access token from the child (``POST /_emulator/tokens``)."""
        body = json.dumps({"ttl": ttl, "max-requests": max_requests}).encode()
        return str(self._call("POST", "/_emulator/tokens", body)["token"])

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the child and wait for its address."""
        if self._process is not None:
            raise RuntimeError("the emulator process is already running")
        env = dict(os.environ)
        path = env.get("PYTHONPATH")
        env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + path if path else "")
        argv = [
            self.python,
            "-m",
            "webex_campaign_async.emulator",
            "--config-json",
            json.dumps(config_to_json(self.config)),
            "--quiet",
            "--exit-on-stdin-eof",
        ]
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self._process = process
        lines: list[bytes] = []
        assert process.stdout is not None
        stdout = process.stdout
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        line = lines[0] if lines else b""
        try:
            info = json.loads(line) if line.strip() else None
        except ValueError:
            info = None
        if not isinstance(info, dict) or "base_url" not in info:
            self.close()
            raise RuntimeError(
                f"the emulator process did not start within {self.startup_timeout} s "
                f"(exit code {process.poll()}, first line {line[:200]!r})"
            )
        self._info = info

    def close(self, timeout: float = 5.0) -> None:
        """Stop the child: close its stdin, then terminate, then kill."""
        process, self._process = self._process, None
        self._info = None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            self._returncode = process.returncode
            if process.stdout is not None:
                process.stdout.close()

    @property
    def returncode(self) -> int | None:
        """The child's exit code once it stopped (None while running or never started)."""
        return self._returncode if self._process is None else self._process.poll()

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> EmulatorProcess:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.close)
