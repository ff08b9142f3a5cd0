"""The side-by-side harness behind ``python -m benchmarks``: this library against baselines.

Scenarios, the child process each client runs in, the library's adapter, checks and reports.
"""
