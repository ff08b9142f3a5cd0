"""An offline emulator of the Webex Campaign "Create / Update contact profile" API.

`Emulator` serves it on a loopback port, `EmulatorTransport` runs it in process (no sockets),
`EmulatorProcess` in a child process; all three share one pure `EmulatorCore`. Requests are
checked strictly against the vendor's page by the emulator's own validator (`_validate`).
"""

from ._config import DEFAULT_UPSERT_PATH, EmulatorConfig, Faults, Storm
from ._core import Decision, EmulatorCore
from ._faults import Fault
from ._process import EmulatorProcess
from ._serve import main as serve_main
from ._server import Emulator, create_app
from ._stats import FaultEvent, Stats
from ._store import ProfileStore
from ._transport import EmulatorTransport

__all__ = [
    "DEFAULT_UPSERT_PATH",
    "Decision",
    "Emulator",
    "EmulatorConfig",
    "EmulatorCore",
    "EmulatorProcess",
    "EmulatorTransport",
    "Fault",
    "FaultEvent",
    "Faults",
    "ProfileStore",
    "Stats",
    "Storm",
    "create_app",
    "serve_main",
]
