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


# --- integration: the real daemon ---------------------------------------------------------------

import shutil  # noqa: E402

import realstack  # noqa: E402

#: Image-folder datasets made at session start (before anything lists the mount, which is
#: mounted with metadata_ttl=indefinite): name -> (classes, images per class). Each test reads
#: its own, so every test starts cold.
DATASETS = {"order": (2, 30), "pair": (2, 40), "kill": (1, 20), "contract": (1, 3), "loader": (3, 80),
            "ddp": (3, 80)}


@pytest.fixture(scope="session")
def stack():
    """The S3 server, the daemon and a mount of bucket ``data`` holding DATASETS as JPEGs."""
    reason = realstack.missing()
    if reason:
        pytest.skip(reason)
    work = tempfile.mkdtemp(prefix="s3c-it-")
    try:
        s = realstack.Stack(work)
        try:
            for name, (classes, per_class) in DATASETS.items():
                _upload_images(s, name, classes, per_class)
            yield s
        finally:
            s.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _upload_images(s: "realstack.Stack", name: str, classes: int, per_class: int) -> None:
    import io
    import random
    try:
        from PIL import Image
    except ImportError:  # only the torchvision tests decode them, and they need Debian's python3
        Image = None
    rng = random.Random(name)
    for c in range(classes):
        for i in range(per_class):
            pixels = bytes(rng.randrange(256) for _ in range(24 * 24 * 3))
            out = io.BytesIO()
            if Image is not None:
                Image.frombytes("RGB", (24, 24), pixels).save(out, "JPEG", quality=90)
            else:
                out.write(pixels)
            s.s3.put("data", f"{name}/class_{c}/img_{i:03d}.jpg", out.getvalue())


@pytest.fixture
def dataset(stack, request):
    """The mounted root of the dataset named by the test's ``dataset`` marker."""
    return os.path.join(stack.mnt, request.node.get_closest_marker("dataset").args[0])


def pytest_configure(config):
    config.addinivalue_line("markers", "dataset(name): the integration dataset a test reads (see DATASETS)")
