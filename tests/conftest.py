"""Shared test settings: offline hub, a shared task cache, and the quick suite by default: tests marked
`slow` (real training, crash-resume, Slurm, Chromium, retrain) run only under DISCOVER_SLOW=1, as in CI."""

import os
import socket
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Tasks built by tests (e.g. the tiny sentiment task) are cached once per machine, keyed by their
# configuration, and shared by every test and the subprocesses they start.
os.environ.setdefault("DISCOVER_CACHE", str(Path(tempfile.gettempdir()) / "discover-test-cache"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("DISCOVER_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: `DISCOVER_SLOW=1 python -m pytest -q -n 2` runs every test")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def listener():
    """A loopback server that hostile code tries to reach; it must never see a connection."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    with pytest.raises(BlockingIOError):
        server.accept()
    server.close()
