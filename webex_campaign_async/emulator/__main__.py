"""``python -m webex_campaign_async.emulator``: serve the emulator from the shell.

See `_serve.main` for the arguments (``--help``).
"""

from __future__ import annotations

import sys

from ._serve import main

if __name__ == "__main__":
    sys.exit(main())
