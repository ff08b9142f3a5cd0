"""``python -m webex_campaign_async.cli``: the ``webex-campaign`` command."""

import sys

from ._main import main

sys.exit(main())
