"""Fixtures shared by the unit tests: a fake daemon on a Unix socket and a directory it calls a mount."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Iterator

import pytest

# The tests import the package from this source tree, whether or not it is installed.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakedaemon import FakeDaemon  # noqa: E402
from s3cache.client import Daemon  # noqa: E402


@pytest.fixture
def short_tmp() -> Iterator[str]:
    """A temporary directory with a short path (a Unix socket path has at most 107 bytes)."""
    with tempfile.TemporaryDirectory(prefix="s3c-") as d:
        yield os.path.realpath(d)


@pytest.fixture
def mnt(short_tmp: str) -> str:
    """A directory the fake daemon treats as an s3cache mount."""
    path = os.path.join(short_tmp, "mnt")
    os.mkdir(path)
    return path


@pytest.fixture
def fake(short_tmp: str, mnt: str) -> Iterator[FakeDaemon]:
    server = FakeDaemon(os.path.join(short_tmp, "fake.sock"), [mnt])
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def daemon(fake: FakeDaemon) -> Daemon:
    """A client of the fake daemon."""
    return Daemon(fake.socket, timeout=10)
