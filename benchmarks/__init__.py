"""Benchmarks of webex-campaign-async: ratios measured in one run, never thresholds."""
