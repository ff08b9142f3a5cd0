"""The package's surface: `__all__` is sorted, complete and importable; version from metadata."""

from __future__ import annotations

import importlib.metadata
import types

import webex_campaign_async
from webex_campaign_async import exceptions


def _isort_key(name: str) -> tuple[int, str]:
    """Constants, then classes, then the rest, each alphabetical (isort's order)."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_unique() -> None:
    names = webex_campaign_async.__all__
    assert names == sorted(names, key=_isort_key)
    assert len(set(names)) == len(names)


def test_every_name_in_all_exists() -> None:
    for name in webex_campaign_async.__all__:
        assert hasattr(webex_campaign_async, name), name


def test_every_public_attribute_is_in_all() -> None:
    public = {
        name
        for name, value in vars(webex_campaign_async).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(webex_campaign_async.__all__), public - set(webex_campaign_async.__all__)


def test_exceptions_all_lists_every_exception() -> None:
    defined = {
        name
        for name, value in vars(exceptions).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    assert defined == set(exceptions.__all__)
    assert set(exceptions.__all__) <= set(webex_campaign_async.__all__)


def test_every_exception_derives_from_the_base() -> None:
    for name in exceptions.__all__:
        assert issubclass(getattr(exceptions, name), exceptions.WebexCampaignError), name


def test_version_comes_from_package_metadata() -> None:
    assert webex_campaign_async.__version__ == importlib.metadata.version("webex-campaign-async")
