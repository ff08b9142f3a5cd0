"""Baselines: what users write instead of this library, honest and short, one file each.

Each module has ``async def run(target, records, settings) -> Tally``: the same records, the
same concurrency, a bounded number of attempts with a fixed sleep, the body's update-count
checked. None of them has a rate limiter: that is the point of comparison.
"""
