"""``python -m webex_campaign_async``: the ``webex-campaign`` command."""

import sys

from .cli import main

sys.exit(main())
