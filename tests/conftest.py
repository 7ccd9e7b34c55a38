"""Shared test settings: offline hub, and `slow` tests skipped unless DISCOVER_SLOW=1."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("DISCOVER_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set DISCOVER_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
