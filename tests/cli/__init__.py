"""Tests of the ``webex-campaign`` command line, through the real console script."""
