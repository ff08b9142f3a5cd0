"""The ``webex-campaign`` command: batch upserts from CSV / JSON lines files, and the demo.

Built on the library's public names (plus its file writers and JSON codec); the emulator
is reached only through ``webex_campaign_async.emulator``'s public names.
"""

from ._main import main

__all__ = ["main"]
